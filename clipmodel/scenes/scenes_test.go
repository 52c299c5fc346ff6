package scenes

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestScenesAreDeterministic(t *testing.T) {
	draw := func() (string, []uint8) {
		rng := rand.New(rand.NewPCG(3, 4))
		s := Random(rng)
		return s.Caption(rng), s.Render(rng, 32).Pix
	}
	c1, p1 := draw()
	c2, p2 := draw()
	if c1 != c2 || string(p1) != string(p2) {
		t.Error("the same seed drew different scenes")
	}
}

// TestRenderShowsTheColour checks the picture: a large red shape on white makes the image redder
// than a large blue one.
func TestRenderShowsTheColour(t *testing.T) {
	redness := func(color string) float64 {
		s := Scene{Shape: "circle", Color: color, Size: "large", Count: "one", Position: "centre", Background: "white"}
		img := s.Render(rand.New(rand.NewPCG(1, 1)), 32)
		sum := 0.0
		for i := 0; i < len(img.Pix); i += 4 {
			sum += float64(img.Pix[i]) - float64(img.Pix[i+2])
		}
		return sum
	}
	if redness("red") <= redness("blue") {
		t.Error("a red circle is not redder than a blue one")
	}
}

func TestCaptionsNameTheScene(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		s := Random(rng)
		for _, c := range []string{s.Caption(rng), s.Describe()} {
			if !strings.Contains(c, s.Color) || !strings.Contains(c, strings.TrimSuffix(s.Shape, "s")) {
				t.Fatalf("caption %q of %+v misses its colour or shape", c, s)
			}
		}
		if clashes(s.Color, s.Background) {
			t.Fatalf("scene %+v has a colour that does not stand out", s)
		}
	}
}
