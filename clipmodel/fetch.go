package clipmodel

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// maxFetchedImageBytes bounds an image downloaded by FetchImage.
const maxFetchedImageBytes = 256 << 20

// IsURL tells whether an image name is an http or https address, which CLIPig downloads.
func IsURL(name string) bool {
	return strings.HasPrefix(name, "http://") || strings.HasPrefix(name, "https://")
}

// FetchImage downloads an image address into clipwork's cache (images/ in the user's cache
// folder, named by the address's hash), once, as CLIPig caches the images it downloads, and
// returns the cached file's path. The file is written whole or not at all.
func FetchImage(address string) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("image %s: no cache folder to download it into: %w", address, err)
	}
	sum := sha256.Sum256([]byte(address))
	ext := ""
	if u, err := url.Parse(address); err == nil {
		ext = path.Ext(u.Path)
	}
	cached := filepath.Join(dir, "clipwork", "images", hex.EncodeToString(sum[:16])+ext)
	if _, err := os.Stat(cached); err == nil {
		return cached, nil
	}
	if err := download(address, cached); err != nil {
		return "", fmt.Errorf("image %s: %w (without network, download it elsewhere and give its file instead)", address, err)
	}
	return cached, nil
}

// fetchClient downloads images: an unreachable host fails within seconds, a slow download has
// two minutes.
var fetchClient = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
	Proxy: http.ProxyFromEnvironment, DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	TLSHandshakeTimeout: 10 * time.Second}}

// download writes an image address's body to dst through a temporary file beside it, which must
// hold an image: an error page is not cached.
func download(address, dst string) error {
	resp, err := fetchClient.Get(address)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the server answered %s", resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".download-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, io.LimitReader(resp.Body, maxFetchedImageBytes+1))
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return err
	}
	if n > maxFetchedImageBytes {
		return fmt.Errorf("more than %d MB", maxFetchedImageBytes>>20)
	}
	if err := checkDownloadedImage(tmp.Name()); err != nil {
		return fmt.Errorf("the server sent no image (%s): %w", resp.Header.Get("Content-Type"), err)
	}
	return os.Rename(tmp.Name(), dst)
}

// checkDownloadedImage reads a downloaded file's image header.
func checkDownloadedImage(file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	_, _, err = image.DecodeConfig(f)
	return err
}
