package clipmodel

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"path"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/dtypes/float16"
	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/nlpodyssey/gopickle/types"
)

// PyTorch's zip archives: torch.save files (open_clip_pytorch_model.bin) pickle a dict of tensors
// in PREFIX/data.pkl, TorchScript files (OpenAI's ~/.cache/clip/*.pt) pickle the module tree
// there; either way each tensor's storage is the file PREFIX/data/KEY. The pickle is read with
// gopickle, which builds Go values and never runs code; the classes it may name are limited to
// tensor storage, the tensor rebuild function and TorchScript's module objects (plain attribute
// holders here). Anything else is an error.

// maxPickleSize bounds data.pkl, which holds names and shapes only (OpenAI's largest is ~100 KB).
const maxPickleSize = 64 << 20

// maxPickleDepth bounds how deeply modules nest, maxPickleVisits how many values the walk over
// the unpickled tree visits (shared references could otherwise make it exponential; OpenAI's
// largest checkpoints need a few thousand) and maxTensorName how long a dotted name may grow.
const (
	maxPickleDepth  = 64
	maxPickleVisits = 1 << 16
	maxTensorName   = 512
)

// torchDTypes maps PyTorch storage classes to element sizes of the types clipwork reads.
var torchDTypes = map[string]int{
	"FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "DoubleStorage": 8,
	"LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1, "BoolStorage": 1,
}

// torchStorageClass is a storage class such as torch.HalfStorage.
type torchStorageClass struct{ name string }

// torchStorage is a persistent reference to the archive's data/KEY file.
type torchStorage struct {
	dtype string
	key   string
	numel int
}

// torchTensor is a tensor view on a storage.
type torchTensor struct {
	storage       *torchStorage
	offset        int
	shape, stride []int
}

// rebuildTensor stands for torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...).
type rebuildTensor struct{}

// Call builds the tensor reference from the pickled arguments.
func (rebuildTensor) Call(args ...any) (any, error) {
	if len(args) < 4 {
		return nil, fmt.Errorf("_rebuild_tensor_v2 with %d arguments", len(args))
	}
	storage, ok := args[0].(*torchStorage)
	if !ok {
		return nil, errors.New("_rebuild_tensor_v2 on something that is not a storage")
	}
	offset, ok1 := args[1].(int)
	shape, ok2 := intTuple(args[2])
	stride, ok3 := intTuple(args[3])
	if !ok1 || !ok2 || !ok3 || len(shape) != len(stride) || offset < 0 {
		return nil, errors.New("_rebuild_tensor_v2 with malformed offset, size or stride")
	}
	return &torchTensor{storage, offset, shape, stride}, nil
}

// rebuildParameter stands for torch._utils._rebuild_parameter(data, requires_grad, hooks).
type rebuildParameter struct{}

// Call returns the parameter's tensor.
func (rebuildParameter) Call(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, errors.New("_rebuild_parameter without data")
	}
	if _, ok := args[0].(*torchTensor); !ok {
		return nil, errors.New("_rebuild_parameter on something that is not a tensor")
	}
	return args[0], nil
}

func intTuple(v any) ([]int, bool) {
	t, ok := v.(*types.Tuple)
	if !ok {
		return nil, false
	}
	out := make([]int, t.Len())
	for i := range out {
		n, ok := t.Get(i).(int)
		if !ok || n < 0 {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// torchModuleClass is a TorchScript module class (__torch__.*): instances only hold attributes.
type torchModuleClass struct{ name string }

// torchModule is a TorchScript module's attributes, as the pickle's BUILD sets them.
type torchModule struct {
	class string
	attrs *types.Dict
}

// PyNew makes an empty module.
func (c *torchModuleClass) PyNew(...any) (any, error) {
	return &torchModule{class: c.name}, nil
}

// PySetState takes the attribute dict.
func (m *torchModule) PySetState(state any) error {
	d, ok := state.(*types.Dict)
	if !ok {
		return fmt.Errorf("module %s: state is not a dict", m.class)
	}
	m.attrs = d
	return nil
}

// passFirst stands for TorchScript's pure helpers that return their first argument
// (torch.jit._pickle.restore_type_tag(value, type_name) tags typed lists and dicts).
type passFirst struct{}

// Call returns the first argument.
func (passFirst) Call(args ...any) (any, error) {
	if len(args) == 0 {
		return nil, errors.New("restore_type_tag without a value")
	}
	return args[0], nil
}

// findTorchClass allows the few globals PyTorch's archives name.
func findTorchClass(module, name string) (any, error) {
	switch {
	case module == "torch.jit._pickle" && name == "restore_type_tag":
		return passFirst{}, nil
	case module == "torch._utils" && name == "_rebuild_tensor_v2":
		return rebuildTensor{}, nil
	case module == "torch._utils" && name == "_rebuild_parameter":
		return rebuildParameter{}, nil
	case module == "torch" && torchDTypes[name] > 0:
		return &torchStorageClass{name}, nil
	case module == "__torch__" || strings.HasPrefix(module, "__torch__."):
		return &torchModuleClass{module + "." + name}, nil
	}
	return nil, fmt.Errorf("the pickle names %s.%s, which is not a tensor or a module: clipwork reads only tensors and plain containers", module, name)
}

// persistentStorage resolves ('storage', StorageClass, key, location, numel).
func persistentStorage(pid any) (any, error) {
	t, ok := pid.(*types.Tuple)
	if !ok || t.Len() != 5 {
		return nil, errors.New("persistent id is not a storage tuple")
	}
	kind, _ := t.Get(0).(string)
	class, ok1 := t.Get(1).(*torchStorageClass)
	key, ok2 := t.Get(2).(string)
	numel, ok3 := t.Get(4).(int)
	if kind != "storage" || !ok1 || !ok2 || !ok3 || numel < 0 || strings.ContainsAny(key, "/\\") || key == ".." {
		return nil, errors.New("persistent id is not a storage tuple")
	}
	return &torchStorage{dtype: class.name, key: key, numel: numel}, nil
}

// unpickle reads a PyTorch data.pkl, after checking that every length in it fits in the data
// (so that the reader never allocates what a hostile file claims), turning a panic inside the
// reader into an error.
func unpickle(data []byte) (result any, err error) {
	if err := checkPickleLengths(data); err != nil {
		return nil, err
	}
	defer func() {
		if p := recover(); p != nil {
			result, err = nil, fmt.Errorf("malformed pickle: %v", p)
		}
	}()
	u := pickle.NewUnpickler(bytes.NewReader(data))
	u.FindClass = findTorchClass
	u.PersistentLoad = persistentStorage
	return u.Load()
}

// tensorWalk collects the tensors of an unpickled value under dotted names.
type tensorWalk struct {
	visits int
	out    map[string]*torchTensor
	onPath map[any]bool // the containers being walked, to refuse cycles
}

// collect walks v: dicts and modules give dotted names, tensors end a path.
func (w *tensorWalk) collect(v any, prefix string, depth int) error {
	if w.visits++; depth > maxPickleDepth || w.visits > maxPickleVisits || len(prefix) > maxTensorName {
		return errors.New("the pickled module tree is too deep or too large")
	}
	out := w.out
	var entries []types.DictEntry
	switch x := v.(type) {
	case *torchTensor:
		out[strings.TrimSuffix(prefix, ".")] = x
		return nil
	case *torchModule:
		if x.attrs != nil {
			entries = *x.attrs
		}
	case *types.Dict:
		entries = *x
	case *types.OrderedDict:
		for _, e := range x.Map {
			entries = append(entries, types.DictEntry{Key: e.Key, Value: e.Value})
		}
	default:
		return nil // Numbers, strings, flags: not weights.
	}
	if w.onPath[v] {
		return errors.New("the pickled module tree contains a cycle")
	}
	w.onPath[v] = true
	defer delete(w.onPath, v)
	for _, e := range entries {
		if name, ok := e.Key.(string); ok && name != "" {
			if err := w.collect(e.Value, prefix+name+".", depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// TorchArchive is a PyTorch zip archive's tensors, read lazily.
type TorchArchive struct {
	path    string
	closer  io.Closer
	size    int64
	prefix  string
	files   map[string]*zip.File
	tensors map[string]*torchTensor
}

// OpenTorchArchive reads the names, shapes and storage layout of the tensors in a torch.save or
// TorchScript (torch.jit.save) zip archive without executing anything from it.
func OpenTorchArchive(file string) (*TorchArchive, error) {
	f, size, err := openSized(file)
	if err != nil {
		return nil, err
	}
	a, err := ReadTorchArchive(file, f, size)
	if err != nil {
		f.Close()
		return nil, err
	}
	a.closer = f
	return a, nil
}

// ReadTorchArchive reads an archive of size bytes from r; file names it in errors.
func ReadTorchArchive(file string, r io.ReaderAt, size int64) (*TorchArchive, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%s: not a PyTorch zip archive: %w (legacy pre-1.6 torch.save files are not supported; re-save with torch.save)", file, err)
	}
	a := &TorchArchive{path: file, size: size, files: map[string]*zip.File{}}
	var pkl *zip.File
	for _, f := range zr.File {
		a.files[f.Name] = f
		if dir, base := path.Split(f.Name); base == "data.pkl" && strings.Count(dir, "/") == 1 {
			if pkl != nil {
				return nil, fmt.Errorf("%s: more than one data.pkl", file)
			}
			pkl, a.prefix = f, dir
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("%s: no PREFIX/data.pkl: not a PyTorch archive", file)
	}
	if order, ok := a.files[a.prefix+"byteorder"]; ok {
		data, err := a.readEntry(order)
		if err != nil || strings.TrimSpace(string(data)) != "little" {
			return nil, fmt.Errorf("%s: the tensors are not stored little-endian (byteorder %q), which clipwork reads", file, data)
		}
	}
	if pkl.UncompressedSize64 > maxPickleSize {
		return nil, fmt.Errorf("%s: data.pkl has %d bytes, more than the %d a checkpoint's names need", file, pkl.UncompressedSize64, maxPickleSize)
	}
	data, err := a.readEntry(pkl)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	value, err := unpickle(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", file, pkl.Name, err)
	}
	a.tensors = map[string]*torchTensor{}
	if err := (&tensorWalk{out: a.tensors, onPath: map[any]bool{}}).collect(value, "", 0); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(a.tensors) == 0 {
		return nil, fmt.Errorf("%s: the archive holds no tensors", file)
	}
	return a, nil
}

// Close releases the archive.
func (a *TorchArchive) Close() error {
	if a.closer == nil {
		return nil
	}
	return a.closer.Close()
}

// Path is the archive's file name.
func (a *TorchArchive) Path() string {
	return a.path
}

// Names lists the tensors, sorted.
func (a *TorchArchive) Names() []string {
	return slices.Sorted(maps.Keys(a.tensors))
}

// Shape returns a tensor's shape.
func (a *TorchArchive) Shape(name string) ([]int, bool) {
	t, ok := a.tensors[name]
	if !ok {
		return nil, false
	}
	return t.shape, true
}

// Float32 reads a floating-point tensor (float32, float16, bfloat16 or float64) as float32.
func (a *TorchArchive) Float32(name string) ([]float32, error) {
	t, ok := a.tensors[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", a.path, name)
	}
	raw, err := a.storageBytes(t.storage)
	if err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %w", a.path, name, err)
	}
	decode, ok := storageDecoders[t.storage.dtype]
	if !ok {
		return nil, fmt.Errorf("%s: tensor %q is %s, not a floating-point tensor", a.path, name, t.storage.dtype)
	}
	index, err := t.elementOffsets()
	if err != nil {
		return nil, fmt.Errorf("%s: tensor %q: %w", a.path, name, err)
	}
	out := make([]float32, len(index))
	for i, at := range index {
		out[i] = decode(raw, at)
	}
	return out, nil
}

// storageBytes reads data/KEY, checking its length against the storage's element count.
func (a *TorchArchive) storageBytes(s *torchStorage) ([]byte, error) {
	f, ok := a.files[a.prefix+"data/"+s.key]
	if !ok {
		return nil, fmt.Errorf("storage %s is missing from the archive", s.key)
	}
	elem := uint64(torchDTypes[s.dtype])
	if f.UncompressedSize64%elem != 0 || f.UncompressedSize64/elem != uint64(s.numel) {
		return nil, fmt.Errorf("storage %s has %d bytes, not %d elements of %d bytes", s.key, f.UncompressedSize64, s.numel, elem)
	}
	return a.readEntry(f)
}

// readEntry reads a whole archive entry, which PyTorch stores uncompressed: a larger size than
// the archive's is a lie, not an allocation to make.
func (a *TorchArchive) readEntry(f *zip.File) ([]byte, error) {
	if f.Method != zip.Store || f.UncompressedSize64 > uint64(a.size) {
		return nil, fmt.Errorf("entry %s is compressed or larger than the archive: PyTorch stores tensors and data.pkl uncompressed", f.Name)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	buf := make([]byte, f.UncompressedSize64)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, fmt.Errorf("%s: %w", f.Name, err)
	}
	return buf, nil
}

// elementOffsets lists the storage index of each element in row-major order, checking that
// the view stays inside its storage.
func (t *torchTensor) elementOffsets() ([]int, error) {
	numel, n := t.storage.numel, 1
	for _, d := range t.shape {
		if d > numel {
			return nil, fmt.Errorf("a dimension of %d exceeds the storage of %d elements", d, numel)
		}
		n *= d
		if n > numel {
			return nil, fmt.Errorf("the view has more elements than its storage of %d", numel)
		}
	}
	if n == 0 {
		return nil, nil
	}
	last := t.offset
	if last >= numel {
		return nil, fmt.Errorf("offset %d is outside the storage of %d elements", last, numel)
	}
	for i, d := range t.shape {
		if d > 1 && t.stride[i] > (numel-1-last)/(d-1) {
			return nil, fmt.Errorf("the view's strides %v reach outside the storage of %d elements", t.stride, numel)
		}
		last += (d - 1) * t.stride[i]
	}
	out := make([]int, 0, n)
	idx := make([]int, len(t.shape))
	for range n {
		at := t.offset
		for i, j := range idx {
			at += j * t.stride[i]
		}
		out = append(out, at)
		for i := len(idx) - 1; i >= 0; i-- {
			if idx[i]++; idx[i] < t.shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out, nil
}

// storageDecoders read element i of a little-endian storage as float32.
var storageDecoders = map[string]func(raw []byte, i int) float32{
	"FloatStorage": func(raw []byte, i int) float32 {
		return math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	},
	"HalfStorage": func(raw []byte, i int) float32 {
		return float16.Float16(binary.LittleEndian.Uint16(raw[2*i:])).Float32()
	},
	"BFloat16Storage": func(raw []byte, i int) float32 {
		return bfloat16.BFloat16(binary.LittleEndian.Uint16(raw[2*i:])).Float32()
	},
	"DoubleStorage": func(raw []byte, i int) float32 {
		return float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:])))
	},
}

// unwrapTrainingCheckpoint keeps only a training checkpoint's model weights, as open_clip's
// load_state_dict does: the tensors of its "state_dict" entry (in {"epoch", "state_dict", ...}),
// without DistributedDataParallel's "module." prefix.
func (a *TorchArchive) unwrapTrainingCheckpoint() {
	if inner := tensorsUnder(a.tensors, "state_dict."); len(inner) > 0 {
		a.tensors = inner
	}
	if inner := tensorsUnder(a.tensors, "module."); len(inner) == len(a.tensors) {
		a.tensors = inner
	}
}

// tensorsUnder returns the tensors whose names start with prefix, named without it.
func tensorsUnder(all map[string]*torchTensor, prefix string) map[string]*torchTensor {
	out := map[string]*torchTensor{}
	for name, t := range all {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			out[rest] = t
		}
	}
	return out
}
