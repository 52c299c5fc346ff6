package workbench

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"
)

// TestInterpolateMatchesTorch resizes a 5x7 image with values beyond [0, 1] up and down in each
// interpolation and compares with torch's F.interpolate (testdata/pixels.py), which CLIPig's
// resize of its pixels comes down to.
func TestInterpolateMatchesTorch(t *testing.T) {
	data, err := os.ReadFile("testdata/pixels.json")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(data, &all); err != nil {
		t.Fatal(err)
	}
	ref := map[string][]float64{}
	for name, raw := range all {
		var values []float64
		if json.Unmarshal(raw, &values) == nil {
			ref[name] = values
		}
	}
	input := make([]float32, len(ref["interpolate_input"]))
	for i, v := range ref["interpolate_input"] {
		input[i] = float32(v)
	}
	for _, mode := range Interpolations {
		for _, size := range [][2]int{{11, 9}, {4, 3}} {
			name := fmt.Sprintf("interpolate_%s_%dx%d", mode, size[0], size[1])
			want, ok := ref[name]
			if !ok {
				t.Fatalf("no reference %s", name)
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
