package clipmodel

// The safetensors reader is written here rather than taken from go-huggingface: that one reads
// only through hub repositories (network first) and slices its memory map with offsets it never
// checks, so a truncated file panics. This one validates every offset against the file size.

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/clipwork/clipwork/internal/atomicfile"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/dtypes/float16"
)

// maxHeaderBytes bounds the JSON header of a safetensors file (the format's own limit is 100 MB).
const maxHeaderBytes = 100 << 20

// dtypeSizes are the element sizes of the safetensors dtypes clipwork understands.
var dtypeSizes = map[string]int64{
	"F64": 8, "F32": 4, "F16": 2, "BF16": 2,
	"I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
}

// TensorInfo is one entry of a safetensors header.
type TensorInfo struct {
	Name  string
	DType string
	Shape []int
	// Begin and End are byte offsets into the data section, as in the header's data_offsets.
	Begin, End int64
}

// NumElements is the product of the shape's dimensions.
func (t TensorInfo) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= int64(d)
	}
	return n
}

// Safetensors is an open safetensors file whose header has been validated.
type Safetensors struct {
	// Path names the file in errors.
	Path     string
	Tensors  map[string]TensorInfo
	Metadata map[string]string
	r        io.ReaderAt
	data     int64 // offset of the data section
	closer   io.Closer
}

// openSized opens a file for reading and says how long it is.
func openSized(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, info.Size(), nil
}

// OpenSafetensors opens and validates a safetensors file. Close it when done.
func OpenSafetensors(path string) (*Safetensors, error) {
	f, size, err := openSized(path)
	if err != nil {
		return nil, err
	}
	st, err := ReadSafetensors(f, size)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	st.Path, st.closer = path, f
	return st, nil
}

// ReadSafetensors validates the header of a safetensors file of the given size read through r.
func ReadSafetensors(r io.ReaderAt, size int64) (*Safetensors, error) {
	var prefix [8]byte
	if size < 8 {
		return nil, fmt.Errorf("file is %d bytes, too short for a safetensors header (truncated?)", size)
	}
	if _, err := r.ReadAt(prefix[:], 0); err != nil {
		return nil, fmt.Errorf("reading header length: %w", err)
	}
	headerLen := binary.LittleEndian.Uint64(prefix[:])
	if int64(headerLen) > size-8 {
		return nil, fmt.Errorf("header length %d goes beyond the file's %d bytes (truncated or not safetensors)",
			headerLen, size)
	}
	if headerLen > maxHeaderBytes {
		return nil, fmt.Errorf("the header is %d bytes, more than safetensors' limit of %d", headerLen, maxHeaderBytes)
	}
	header := make([]byte, headerLen)
	if _, err := r.ReadAt(header, 8); err != nil && headerLen > 0 {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	st := &Safetensors{r: r, data: 8 + int64(headerLen)}
	var err error
	st.Tensors, st.Metadata, err = parseSafetensorsHeader(header, size-st.data)
	if err != nil {
		return nil, err
	}
	return st, nil
}

func parseSafetensorsHeader(header []byte, dataLen int64) (map[string]TensorInfo, map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(header, &raw); err != nil {
		return nil, nil, fmt.Errorf("header is not a JSON object: %w", err)
	}
	tensors := make(map[string]TensorInfo, len(raw))
	var metadata map[string]string
	for name, value := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(value, &metadata); err != nil {
				return nil, nil, fmt.Errorf("__metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var entry struct {
			DType       string  `json:"dtype"`
			Shape       []int   `json:"shape"`
			DataOffsets []int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(value, &entry); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		info := TensorInfo{Name: name, DType: entry.DType, Shape: entry.Shape}
		if len(entry.DataOffsets) != 2 {
			return nil, nil, fmt.Errorf("tensor %q: data_offsets must be [begin, end]", name)
		}
		info.Begin, info.End = entry.DataOffsets[0], entry.DataOffsets[1]
		if err := checkTensorInfo(info, dataLen); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		tensors[name] = info
	}
	if err := checkCoverage(tensors, dataLen); err != nil {
		return nil, nil, err
	}
	return tensors, metadata, nil
}

// checkCoverage enforces the format's rule that the tensors tile the data section exactly, in
// some order: no two overlap, no bytes lie between or after them.
func checkCoverage(tensors map[string]TensorInfo, dataLen int64) error {
	ordered := slices.SortedFunc(maps.Values(tensors), func(a, b TensorInfo) int {
		return cmp.Or(cmp.Compare(a.Begin, b.Begin), cmp.Compare(a.End, b.End), strings.Compare(a.Name, b.Name))
	})
	var end int64
	previous := "the start of the data"
	for _, t := range ordered {
		switch {
		case t.Begin < end:
			return fmt.Errorf("tensor %q overlaps %s (data_offsets [%d, %d] begin before %d)", t.Name, previous, t.Begin, t.End, end)
		case t.Begin > end:
			return fmt.Errorf("%d unindexed bytes between %s and tensor %q (data_offsets must tile the data)", t.Begin-end, previous, t.Name)
		}
		end, previous = t.End, fmt.Sprintf("tensor %q", t.Name)
	}
	if end != dataLen {
		return fmt.Errorf("%d unindexed bytes after %s at the end of the data (data_offsets must tile the data)", dataLen-end, previous)
	}
	return nil
}

func checkTensorInfo(t TensorInfo, dataLen int64) error {
	size, ok := dtypeSizes[t.DType]
	if !ok {
		return fmt.Errorf("unknown dtype %q", t.DType)
	}
	n := int64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", t.Shape)
		}
		if d > 0 && n > math.MaxInt64/size/int64(d) {
			return fmt.Errorf("shape %v is too large", t.Shape)
		}
		n *= int64(d)
	}
	if t.Begin < 0 || t.End < t.Begin || t.End > dataLen {
		return fmt.Errorf("data_offsets [%d, %d] lie outside the %d data bytes (truncated file?)", t.Begin, t.End, dataLen)
	}
	if t.End-t.Begin != n*size {
		return fmt.Errorf("data_offsets span %d bytes but %s%v needs %d", t.End-t.Begin, t.DType, t.Shape, n*size)
	}
	return nil
}

// Close closes the underlying file.
func (s *Safetensors) Close() error {
	if s.closer == nil {
		return nil
	}
	return s.closer.Close()
}

// ReadFloat32 reads a floating point tensor (F32, F16, BF16 or F64) converted to float32.
func (s *Safetensors) ReadFloat32(name string) ([]float32, error) {
	t, ok := s.Tensors[name]
	if !ok {
		return nil, fmt.Errorf("%s has no tensor %q", s.Path, name)
	}
	out := make([]float32, t.NumElements())
	return out, s.ReadFloat32Into(name, out)
}

// ReadFloat32Into reads a floating point tensor (F32, F16, BF16 or F64) into dst, converting
// to float32 a chunk at a time so that large tensors need no second full-size buffer.
func (s *Safetensors) ReadFloat32Into(name string, dst []float32) error {
	t, ok := s.Tensors[name]
	if !ok {
		return fmt.Errorf("%s has no tensor %q", s.Path, name)
	}
	if int64(len(dst)) != t.NumElements() {
		return fmt.Errorf("%s: tensor %q has %d elements, destination %d", s.Path, name, t.NumElements(), len(dst))
	}
	convert, ok := floatDecoders[t.DType]
	if !ok {
		return fmt.Errorf("%s: tensor %q has dtype %s; a floating point tensor is needed", s.Path, name, t.DType)
	}
	size := dtypeSizes[t.DType]
	const chunkElements = 1 << 18
	raw := make([]byte, min(int64(len(dst)), chunkElements)*size)
	for start := 0; start < len(dst); start += chunkElements {
		n := min(len(dst)-start, chunkElements)
		chunk := raw[:int64(n)*size]
		if _, err := s.r.ReadAt(chunk, s.data+t.Begin+int64(start)*size); err != nil {
			return fmt.Errorf("%s: reading tensor %q: %w", s.Path, name, err)
		}
		convert(chunk, dst[start:start+n])
	}
	return nil
}

// floatDecoders convert little-endian raw values of a floating point dtype to float32.
var floatDecoders = map[string]func(raw []byte, dst []float32){
	"F32": func(raw []byte, dst []float32) {
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	},
	"F16": func(raw []byte, dst []float32) {
		for i := range dst {
			dst[i] = float16.Float16(binary.LittleEndian.Uint16(raw[2*i:])).Float32()
		}
	},
	"BF16": func(raw []byte, dst []float32) {
		for i := range dst {
			dst[i] = bfloat16.BFloat16(binary.LittleEndian.Uint16(raw[2*i:])).Float32()
		}
	},
	"F64": func(raw []byte, dst []float32) {
		for i := range dst {
			dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
		}
	},
}

// NamedTensor is a float32 tensor to write into a safetensors file.
type NamedTensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// WriteSafetensors writes tensors into a safetensors file stored as dtype (F32, F16 or BF16),
// atomically: the file appears complete or not at all.
func WriteSafetensors(path string, tensors []NamedTensor, dtype string, metadata map[string]string) error {
	size, ok := dtypeSizes[dtype]
	if !ok || (dtype != "F32" && dtype != "F16" && dtype != "BF16") {
		return fmt.Errorf("cannot write dtype %q: use F32, F16 or BF16", dtype)
	}
	sorted := slices.Clone(tensors)
	slices.SortFunc(sorted, func(a, b NamedTensor) int { return strings.Compare(a.Name, b.Name) })
	header := map[string]any{}
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	offset := int64(0)
	for _, t := range sorted {
		n := int64(len(t.Data)) * size
		header[t.Name] = map[string]any{"dtype": dtype, "shape": nonNilShape(t.Shape), "data_offsets": []int64{offset, offset + n}}
		offset += n
	}
	headerJSON, err := json.Marshal(header)
	if err != nil {
		return err
	}
	for len(headerJSON)%8 != 0 {
		headerJSON = append(headerJSON, ' ')
	}
	if len(headerJSON) > maxHeaderBytes { // readers would refuse the file
		return fmt.Errorf("%s: the header would be %d bytes, more than safetensors' limit of %d", path, len(headerJSON), maxHeaderBytes)
	}
	return atomicfile.Write(path, func(w *bufio.Writer) error {
		if err := binary.Write(w, binary.LittleEndian, uint64(len(headerJSON))); err != nil {
			return err
		}
		if _, err := w.Write(headerJSON); err != nil {
			return err
		}
		for _, t := range sorted {
			if err := writeValues(w, t.Data, dtype); err != nil {
				return err
			}
		}
		return nil
	})
}

func nonNilShape(shape []int) []int {
	if shape == nil {
		return []int{}
	}
	return shape
}

func writeValues(w io.Writer, values []float32, dtype string) error {
	var buf [4]byte
	for _, v := range values {
		var b []byte
		switch dtype {
		case "F32":
			binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
			b = buf[:4]
		case "F16":
			binary.LittleEndian.PutUint16(buf[:], uint16(float16.FromFloat32(v)))
			b = buf[:2]
		case "BF16":
			binary.LittleEndian.PutUint16(buf[:], uint16(bfloat16.FromFloat32(v)))
			b = buf[:2]
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
