package workbench

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
	"testing"
)

// TestInterpolateMatchesTorch resizes a 5x7 image with values beyond [0, 1] up and down in each
// interpolation and compares with torch's F.interpolate (testdata/pixels.py), which CLIPig's
// resize of its pixels comes down to.
func TestInterpolateMatchesTorch(t *testing.T) {
	var ref map[string]json.RawMessage
	readTestdata(t, "pixels.json", &ref)
	var in []float64
	if err := json.Unmarshal(ref["interpolate_input"], &in); err != nil {
		t.Fatal(err)
	}
	input := make([]float32, len(in))
	for i, v := range in {
		input[i] = float32(v)
	}
	for _, mode := range Interpolations {
		for _, size := range [][2]int{{11, 9}, {4, 3}} {
			name := fmt.Sprintf("interpolate_%s_%dx%d", mode, size[0], size[1])
			var want []float64
			if err := json.Unmarshal(ref[name], &want); err != nil || len(want) == 0 {
				t.Fatalf("reference %s: %v", name, err)
			}
			got := interpolate(input, 7, 5, size[0], size[1], mode)
			for i, w := range want {
				if math.Abs(float64(got[i])-w) > 1e-5 {
					t.Errorf("%s: value %d is %g, torch's %g", name, i, got[i], w)
					break
				}
			}
		}
	}
}

// TestInterpolateWindowIsAPartOfTheWhole computes windows of a resize, up and down, in each
// interpolation: each equals the same pixels of the whole resize.
func TestInterpolateWindowIsAPartOfTheWhole(t *testing.T) {
	const w, h = 7, 5
	pixels := make([]float32, w*h*3)
	for i := range pixels {
		pixels[i] = float32(i%11) / 10
	}
	for _, mode := range Interpolations {
		for _, c := range []struct {
			width, height int
			window        image.Rectangle
		}{{23, 17, image.Rect(3, 4, 15, 9)}, {4, 3, image.Rect(1, 1, 3, 3)}, {7, 40, image.Rect(0, 30, 7, 40)}} {
			whole := interpolate(pixels, w, h, c.width, c.height, mode)
			part := interpolateWindow(pixels, w, h, c.width, c.height, c.window, mode)
			for y := c.window.Min.Y; y < c.window.Max.Y; y++ {
				for x := c.window.Min.X; x < c.window.Max.X; x++ {
					i, j := (y*c.width+x)*3, ((y-c.window.Min.Y)*c.window.Dx()+x-c.window.Min.X)*3
					if whole[i] != part[j] {
						t.Fatalf("%s %dx%d window %v: pixel (%d, %d) is %g, the whole resize's %g", mode, c.width, c.height,
							c.window, x, y, part[j], whole[i])
					}
				}
			}
		}
	}
}
