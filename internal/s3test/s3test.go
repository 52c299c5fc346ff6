// Package s3test starts a SeaweedFS server (weed mini) on the loopback interface for tests
// that need a real S3-compatible store. The weed binary comes from CLIPWORK_WEED or bin/weed
// (make weed builds it from the tools/seaweedfs module). Without it the tests skip, unless
// CLIPWORK_S3_TESTS=1 (as in CI), which makes a missing server a failure.
package s3test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"gocloud.dev/blob"
	_ "gocloud.dev/blob/s3blob" // s3:// URLs
)

// Credentials and bucket of the test server.
const (
	AccessKey = "clipwork-test"
	SecretKey = "clipwork-test-secret"
	Bucket    = "clipwork"
	Region    = "us-east-1"
)

// Server is a running SeaweedFS S3 endpoint.
type Server struct {
	// Endpoint is the S3 address, http://127.0.0.1:PORT.
	Endpoint string
}

// readyTimeout bounds the wait for a started server to answer.
const readyTimeout = 90 * time.Second

// Start starts a server with an empty bucket Bucket, points the AWS environment variables of
// this process and its children at it (see Setenv), and stops it when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	weed := binary(t)
	ports := freePorts(t, 8)
	s := &Server{Endpoint: "http://127.0.0.1:" + strconv.Itoa(ports[0])}
	s.Setenv(t)
	w, err := startWeed(weed, miniArgs(t.TempDir(), ports))
	if err != nil {
		t.Fatalf("cannot start %s: %v", weed, err)
	}
	t.Cleanup(func() { w.stop() })
	if err := s.waitReady(w); err != nil {
		t.Fatalf("SeaweedFS did not come up: %v\n%s", err, w.stop())
	}
	return s
}

// weedProcess is a started weed server and what it writes.
type weedProcess struct {
	cmd    *exec.Cmd
	log    bytes.Buffer
	exited chan struct{} // closed once the process has exited and err is set
	err    error         // what Wait returned
}

// startWeed starts weed with args and the test credentials, in a process group of its own.
func startWeed(weed string, args []string) (*weedProcess, error) {
	w := &weedProcess{cmd: exec.Command(weed, args...), exited: make(chan struct{})}
	w.cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+AccessKey, "AWS_SECRET_ACCESS_KEY="+SecretKey, "S3_BUCKET="+Bucket)
	w.cmd.Stdout, w.cmd.Stderr = &w.log, &w.log
	w.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := w.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		w.err = w.cmd.Wait()
		close(w.exited)
	}()
	return w, nil
}

// stop kills the server's process group, waits for it to exit, and returns what it wrote; it
// may be called again.
func (w *weedProcess) stop() string {
	syscall.Kill(-w.cmd.Process.Pid, syscall.SIGKILL)
	<-w.exited
	return w.log.String()
}

// miniArgs binds every service of weed mini to the loopback interface on ports of its own, the
// S3 endpoint on ports[0].
func miniArgs(dir string, ports []int) []string {
	flags := map[string]int{"s3.port": ports[0], "s3.port.grpc": ports[1], "master.port": ports[2],
		"master.port.grpc": ports[3], "filer.port": ports[4], "filer.port.grpc": ports[5],
		"volume.port": ports[6], "volume.port.grpc": ports[7], "s3.port.iceberg": 0, "s3.port.lance": 0,
		"admin.port.legacy": 0}
	args := []string{"mini", "-dir", dir, "-ip", "127.0.0.1", "-ip.bind", "127.0.0.1", "-webdav=false",
		"-admin.ui=false", "-master.telemetry=false", "-volume.max", "4", "-master.volumeSizeLimitMB", "64"}
	for name, port := range flags {
		args = append(args, "-"+name+"="+strconv.Itoa(port))
	}
	return args
}

// waitReady waits until the bucket answers to the credentials, for at most readyTimeout, and
// no longer once w has exited.
func (s *Server) waitReady(w *weedProcess) error {
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	go func() {
		select {
		case <-w.exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	bucket, err := blob.OpenBucket(ctx, "s3://"+Bucket+"?use_path_style=true")
	if err != nil {
		return err
	}
	defer bucket.Close()
	for {
		var ok bool
		if ok, err = bucket.IsAccessible(ctx); ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return w.notReady(err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// notReady is why the server did not answer: it exited, or it gave err until readyTimeout.
func (w *weedProcess) notReady(err error) error {
	select {
	case <-w.exited:
		return fmt.Errorf("weed exited before the bucket answered (%v)", w.err)
	default:
		return fmt.Errorf("the bucket is not there after %v (%v)", readyTimeout, err)
	}
}

// Setenv points the AWS environment variables of this process and its children at the server.
func (s *Server) Setenv(t testing.TB) {
	for k, v := range map[string]string{"AWS_ENDPOINT_URL": s.Endpoint, "AWS_ACCESS_KEY_ID": AccessKey,
		"AWS_SECRET_ACCESS_KEY": SecretKey, "AWS_REGION": Region, "AWS_EC2_METADATA_DISABLED": "true",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull} {
		t.Setenv(k, v)
	}
}

// URL is the store URL of prefix in the test bucket.
func URL(prefix string) string { return "s3://" + Bucket + "/" + prefix }

// binary finds the weed binary, or skips (fails under CLIPWORK_S3_TESTS=1).
func binary(t testing.TB) string {
	t.Helper()
	path := os.Getenv("CLIPWORK_WEED")
	if path == "" {
		_, file, _, _ := runtime.Caller(0)
		path = filepath.Join(filepath.Dir(file), "..", "..", "bin", "weed")
	}
	if _, err := os.Stat(path); err != nil {
		msg := "no SeaweedFS server for the S3 tests (" + err.Error() + "): build it with make weed, or set CLIPWORK_WEED to a weed binary"
		if os.Getenv("CLIPWORK_S3_TESTS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// freePorts are n loopback ports free at the time of asking.
func freePorts(t testing.TB, n int) []int {
	var ports []int
	var listeners []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range listeners {
		l.Close()
	}
	return ports
}
