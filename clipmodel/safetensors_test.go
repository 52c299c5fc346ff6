package clipmodel

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSafetensorsRoundTrip(t *testing.T) {
	values := []float32{0, 1, -2.5, 3.25, 1e-3, 65504}
	for _, dtype := range []string{"F32", "F16", "BF16"} {
		path := filepath.Join(t.TempDir(), "x.safetensors")
		in := []NamedTensor{{"b.weight", []int{2, 3}, values}, {"a", []int{}, []float32{7}}}
		if err := WriteSafetensors(path, in, dtype, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
		st, err := OpenSafetensors(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.ReadFloat32("b.weight")
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range values {
			tolerance := map[string]float32{"F32": 0, "F16": 1e-3, "BF16": 8e-3}[dtype]
			if d := got[i] - v; d > tolerance*max(1, abs32(v)) || -d > tolerance*max(1, abs32(v)) {
				t.Errorf("%s: value %d = %g, want %g", dtype, i, got[i], v)
			}
		}
		if info := st.Tensors["b.weight"]; info.DType != dtype || !slices.Equal(info.Shape, []int{2, 3}) {
			t.Errorf("%s: header %+v", dtype, info)
		}
		if st.Metadata["format"] != "pt" {
			t.Errorf("metadata %v", st.Metadata)
		}
		st.Close()
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// safetensorsBytes builds a file from a raw header and data.
func safetensorsBytes(header string, data []byte) []byte {
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, uint64(len(header)))
	buf.WriteString(header)
	buf.Write(data)
	return buf.Bytes()
}

func TestSafetensorsRejectsBadFiles(t *testing.T) {
	valid := safetensorsBytes(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8))
	for _, tc := range []struct {
		name, want string
		file       []byte
	}{
		{"empty", "too short", nil},
		{"truncated data", "outside", valid[:len(valid)-3]},
		{"header beyond file", "beyond the file", safetensorsBytes(`{"x":{}}`, nil)[:12]},
		{"empty header", "not a JSON object", safetensorsBytes("", nil)},
		{"header length huge", "beyond the file", append([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, valid[8:]...)},
		{"not json", "not a JSON object", safetensorsBytes(`{nope`, nil)},
		{"unknown dtype", `unknown dtype "Q7"`, safetensorsBytes(`{"x":{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}}`, make([]byte, 1))},
		{"shape mismatch", "needs 8", safetensorsBytes(`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 8))},
		{"negative dim", "negative", safetensorsBytes(`{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, make([]byte, 8))},
		{"bad offsets", "data_offsets", safetensorsBytes(`{"x":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, make([]byte, 8))},
		{"overlap", `tensor "y" overlaps tensor "x"`, safetensorsBytes(
			`{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8))},
		{"gap", `4 unindexed bytes between tensor "x" and tensor "y"`, safetensorsBytes(
			`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"y":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, make([]byte, 12))},
		{"gap at the start", `4 unindexed bytes between the start of the data and tensor "x"`, safetensorsBytes(
			`{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8))},
		{"trailing bytes", "4 unindexed bytes after", safetensorsBytes(
			`{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 8))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadSafetensors(bytes.NewReader(tc.file), int64(len(tc.file)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := os.WriteFile(path, valid[:len(valid)-1], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenSafetensors(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a truncated file's error should name it: %v", err)
	}
}

func FuzzSafetensors(f *testing.F) {
	f.Add(safetensorsBytes(`{"x":{"dtype":"F16","shape":[2,1],"data_offsets":[0,4]},"__metadata__":{"a":"b"}}`, make([]byte, 4)))
	f.Add(safetensorsBytes(`{"y":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}`, make([]byte, 2)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, file []byte) {
		st, err := ReadSafetensors(bytes.NewReader(file), int64(len(file)))
		if err != nil {
			return
		}
		for name := range st.Tensors {
			st.ReadFloat32(name)
		}
	})
}
