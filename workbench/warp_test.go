package workbench

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/clipwork/clipwork/clipmodel"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // GoMLX graph code reads best with the dot import.
	"github.com/gomlx/gomlx/core/tensors"
)

// run1 executes a graph function of float32 tensors with one output.
func run1(t *testing.T, fn func(inputs []*Node) *Node, inputs ...*tensors.Tensor) []float32 {
	t.Helper()
	backend, err := clipmodel.Backend()
	if err != nil {
		t.Fatal(err)
	}
	exec, err := NewExec(backend, fn)
	if err != nil {
		t.Fatal(err)
	}
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = in
	}
	out, err := exec.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out[0])
}

func randomImage(rng *rand.Rand, h, w, c int) []float32 {
	img := make([]float32, h*w*c)
	for i := range img {
		img[i] = rng.Float32()
	}
	return img
}

// directSample is bilinear sampling written plainly, the reference for SampleWindows.
func directSample(img []float32, h, w, c int, hom Homography, size int, pad string) []float32 {
	out := make([]float32, size*size*c)
	for v := range size {
		for u := range size {
			x, y := hom.Apply(float64(u)+0.5, float64(v)+0.5)
			x, y = x-0.5, y-0.5
			x0, y0 := math.Floor(x), math.Floor(y)
			for _, corner := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
				xi, yi := int(x0)+corner[0], int(y0)+corner[1]
				wx, wy := x-x0, y-y0
				if corner[0] == 0 {
					wx = 1 - wx
				}
				if corner[1] == 0 {
					wy = 1 - wy
				}
				switch pad {
				case PadWrap:
					xi, yi = ((xi%w)+w)%w, ((yi%h)+h)%h
				case PadConstant:
					if xi < 0 || xi >= w || yi < 0 || yi >= h {
						continue
					}
				default:
					xi, yi = min(max(xi, 0), w-1), min(max(yi, 0), h-1)
				}
				for ch := range c {
					out[(v*size+u)*c+ch] += float32(wx*wy) * img[(yi*w+xi)*c+ch]
				}
			}
		}
	}
	return out
}

func TestSampleWindowsMatchesDirectBilinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const h, w, c, size = 13, 17, 3, 8
	img := randomImage(rng, h, w, c)
	window := Window{Scale: [2]float64{0.5, 3}, Rotate: [2]float64{-180, 180}, Perspective: 0.2}
	var homs []float32
	var want [][]float32
	for _, pad := range []string{PadEdge, PadWrap, PadConstant} {
		homs, want = nil, nil
		for range 5 {
			hom := window.Sample(rng, size, w, h)
			for _, v := range hom {
				homs = append(homs, float32(v))
			}
			want = append(want, directSample(img, h, w, c, hom, size, pad))
		}
		got := run1(t, func(in []*Node) *Node { return SampleWindows(in[0], in[1], size, pad) },
			tensors.FromFlatDataAndDimensions(img, h, w, c), tensors.FromFlatDataAndDimensions(homs, 5, 9))
		for n := range want {
			for i, v := range want[n] {
				if d := math.Abs(float64(got[n*size*size*c+i] - v)); d > 1e-4 {
					t.Fatalf("pad %s, window %d, value %d: %g, want %g", pad, n, i, got[n*size*size*c+i], v)
				}
			}
		}
	}
}

func TestSampleWindowsIdentity(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	img := randomImage(rng, 8, 8, 3)
	homs := make([]float32, 9)
	for i, v := range IdentityHomography {
		homs[i] = float32(v)
	}
	got := run1(t, func(in []*Node) *Node { return SampleWindows(in[0], in[1], 8, PadEdge) },
		tensors.FromFlatDataAndDimensions(img, 8, 8, 3), tensors.FromFlatDataAndDimensions(homs, 1, 9))
	for i := range img {
		if math.Abs(float64(got[i]-img[i])) > 1e-6 {
			t.Fatalf("identity changed value %d: %g -> %g", i, img[i], got[i])
		}
	}
}

// TestSampleWindowsGradient checks the warp's gradient against finite differences of a
// weighted sum of the windows.
func TestSampleWindowsGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const h, w, size = 6, 7, 5
	img := randomImage(rng, h, w, 1)
	weights := randomImage(rng, size, size, 2)
	window := Window{Scale: [2]float64{0.8, 1.5}, Rotate: [2]float64{-40, 40}, Perspective: 0.1}
	var homs []float32
	for range 2 {
		for _, v := range window.Sample(rng, size, w, h) {
			homs = append(homs, float32(v))
		}
	}
	objective := func(in []*Node) *Node {
		windows := SampleWindows(in[0], in[1], size, PadWrap)
		return ReduceAllSum(Mul(Reshape(windows, 2, size, size), Reshape(in[2], 2, size, size)))
	}
	args := func(image []float32) []*tensors.Tensor {
		return []*tensors.Tensor{tensors.FromFlatDataAndDimensions(image, h, w, 1),
			tensors.FromFlatDataAndDimensions(homs, 2, 9), tensors.FromFlatDataAndDimensions(weights, 2, size, size)}
	}
	grad := run1(t, func(in []*Node) *Node { return Gradient(objective(in), in[0])[0] }, args(img)...)
	const eps = 1e-2
	for i := range img {
		plus, minus := append([]float32(nil), img...), append([]float32(nil), img...)
		plus[i] += eps
		minus[i] -= eps
		numeric := (run1(t, objective, args(plus)...)[0] - run1(t, objective, args(minus)...)[0]) / (2 * eps)
		if math.Abs(float64(numeric-grad[i])) > 2e-3 {
			t.Errorf("pixel %d: gradient %g, finite difference %g", i, grad[i], numeric)
		}
	}
}
