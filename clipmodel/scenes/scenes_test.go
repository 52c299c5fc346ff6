package scenes

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestScenesAreDeterministic(t *testing.T) {
	draw := func() (string, []uint8) {
		rng := rand.New(rand.NewPCG(3, 4))
		s := Random(rng)
		return s.Caption(rng).Text, s.Render(rng, 32).Pix
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
		for _, c := range []string{s.Caption(rng).Text, s.Describe()} {
			if !strings.Contains(c, s.Color) || !strings.Contains(c, strings.TrimSuffix(s.Shape, "s")) {
				t.Fatalf("caption %q of %+v misses its colour or shape", c, s)
			}
		}
		if clashes(s.Color, s.Background) {
			t.Fatalf("scene %+v has a colour that does not stand out", s)
		}
	}
}

// TestCaptionsNameWhatTheySay checks that a caption's text names the position and background
// exactly when Names says so, that only the plain background goes unnamed, and that every
// combination occurs.
func TestCaptionsNameWhatTheySay(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	seen := map[Named]int{}
	for range 400 {
		s := TrainingScene(rng)
		c := s.Caption(rng)
		seen[c.Names]++
		position := containsAny(c.Text, positionWords[s.Position])
		background := containsAny(c.Text, backgroundWords[s.Background])
		if position != c.Names.Position || background != c.Names.Background {
			t.Fatalf("caption %q of %+v: names position %v, background %v; Names says %+v", c.Text, s, position, background, c.Names)
		}
		if !background && s.Background != TintBackground {
			t.Fatalf("caption %q leaves out the background %s", c.Text, s.Background)
		}
	}
	if len(seen) != 8 {
		t.Errorf("captions name %d of the 8 combinations of size, position and background: %v", len(seen), seen)
	}
}

func containsAny(text string, phrases []string) bool {
	for _, p := range phrases {
		if strings.Contains(text, p) {
			return true
		}
	}
	return false
}

// TestCaptionDescribesWhatItNames checks Describes: a caption fits a scene that differs only in
// the size or position it leaves out, and no scene that differs in what it names or in its
// background (a caption without one means the tint).
func TestCaptionDescribesWhatItNames(t *testing.T) {
	s := Scene{Shape: "circle", Color: "green", Size: "large", Count: "one", Position: "left", Background: TintBackground}
	short := Caption{Scene: s, Names: Named{}}
	full := Caption{Scene: s, Names: Named{Size: true, Position: true, Background: true}}
	for _, a := range []Attribute{SizeAttribute, PositionAttribute} {
		other := s
		a.Set(&other, a.Options[0])
		if other == s {
			a.Set(&other, a.Options[1])
		}
		if !short.Describes(other) || full.Describes(other) {
			t.Errorf("another %s: the short caption fits %v, the full one %v", a.Name, short.Describes(other), full.Describes(other))
		}
	}
	for _, a := range []Attribute{ShapeAttribute, ColorAttribute, CountAttribute, BackgroundAttribute} {
		other := s
		a.Set(&other, a.Options[len(a.Options)-1])
		if short.Describes(other) || full.Describes(other) {
			t.Errorf("a caption fits a scene of another %s", a.Name)
		}
	}
	if !full.Describes(s) || !short.Describes(s) {
		t.Error("a caption does not fit its own scene")
	}
}

// TestPositionsAreUnambiguous renders every position, count, size and shape and checks where
// the shape pixels' centroid lies: nearer to its own position's anchor than to any other, by a
// margin, so that no picture could be captioned with two positions.
func TestPositionsAreUnambiguous(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const size = 64
	forEveryLayout(func(s Scene) {
		c := brightCentroid(s.Render(rng, size).Pix, size)
		if got := nearestAnchor(c, anchorMargin); got != s.Position {
			t.Errorf("%+v: shapes centred at (%.2f, %.2f), which reads as %q", s, c[0], c[1], got)
		}
	})
}

// forEveryLayout calls f with a white scene on black for every position, count, size and shape.
func forEveryLayout(f func(Scene)) {
	for _, position := range Positions {
		for _, count := range Counts {
			for _, size := range Sizes {
				for _, shape := range Shapes {
					f(Scene{Shape: shape, Color: "white", Size: size, Count: count, Position: position, Background: "black"})
				}
			}
		}
	}
}

// brightCentroid is the centroid of an RGBA image's bright pixels, in fractions of its side.
func brightCentroid(pix []uint8, size int) [2]float64 {
	var c [2]float64
	mass := 0.0
	for i := 0; i < len(pix); i += 4 {
		if pix[i] < 128 {
			continue
		}
		c[0] += (float64(i/4%size) + 0.5) / float64(size)
		c[1] += (float64(i/4/size) + 0.5) / float64(size)
		mass++
	}
	return [2]float64{c[0] / mass, c[1] / mass}
}

// TestShapesCanBeCounted renders every position, count, size and shape (but stripes, whose
// bands are apart by design) and counts the bright blobs: as many as the caption says, so
// that no shapes merge into one.
func TestShapesCanBeCounted(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	const size = 64
	forEveryLayout(func(s Scene) {
		if s.Shape == "stripes" {
			return
		}
		lo, hi := s.number(rng), s.number(rng)
		if s.Count == "many" {
			lo, hi = 5, 7
		}
		if got := blobs(s.Render(rng, size).Pix, size); got < lo || got > hi {
			t.Errorf("%+v: %d blobs", s, got)
		}
	})
}

// blobs counts the 8-connected groups of bright pixels of an RGBA image.
func blobs(pix []uint8, size int) int {
	seen := make([]bool, size*size)
	n := 0
	for start := range seen {
		if seen[start] || pix[4*start] < 128 {
			continue
		}
		n++
		stack := []int{start}
		seen[start] = true
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					x, y := p%size+dx, p/size+dy
					if q := y*size + x; x >= 0 && y >= 0 && x < size && y < size && !seen[q] && pix[4*q] >= 128 {
						seen[q] = true
						stack = append(stack, q)
					}
				}
			}
		}
	}
	return n
}

// TestNoiseBackgroundIsColourNoise checks the noise background: grey on average, but with each
// channel varying from pixel to pixel, and the channels apart from each other, unlike plain grey.
func TestNoiseBackgroundIsColourNoise(t *testing.T) {
	measure := func(background string) (mean, deviation, hueDeviation float64) {
		s := Scene{Shape: "circle", Color: "red", Size: "small", Count: "one", Position: "left", Background: background}
		img := s.Render(rand.New(rand.NewPCG(2, 3)), 64)
		var red, redMinusGreen []float64
		for y := 40; y < 64; y++ { // the lower right, far from the shape
			for x := 40; x < 64; x++ {
				p := img.Pix[img.PixOffset(x, y):]
				red = append(red, float64(p[0])/255)
				redMinusGreen = append(redMinusGreen, (float64(p[0])-float64(p[1]))/255)
			}
		}
		mean, deviation = meanAndDeviation(red)
		_, hueDeviation = meanAndDeviation(redMinusGreen)
		return mean, deviation, hueDeviation
	}
	mean, deviation, hue := measure(NoiseBackground)
	if math.Abs(mean-0.5) > 0.1 || deviation < 0.12 || hue < 0.15 {
		t.Errorf("noise: red mean %.2f, deviation %.2f, red-green deviation %.2f; want grey under strong colour noise", mean, deviation, hue)
	}
	if _, deviation, hue := measure(PlainBackground); deviation > 0.01 || hue > 0.01 {
		t.Errorf("plain: red deviation %.2f, red-green deviation %.2f; want flat grey", deviation, hue)
	}
}

func meanAndDeviation(values []float64) (mean, deviation float64) {
	for _, v := range values {
		mean += v / float64(len(values))
	}
	for _, v := range values {
		deviation += (v - mean) * (v - mean) / float64(len(values))
	}
	return mean, math.Sqrt(deviation)
}

// TestNoiseTintAndFadeOnlyInTraining checks that a tenth of training scenes lie on noise,
// three in four of those that would lie on plain grey (a quarter of all) on a tint, and a
// quarter are faded, and that no held-out scene is either.
func TestNoiseTintAndFadeOnlyInTraining(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	count := map[string]int{}
	faded := 0
	for range 2000 {
		s := TrainingScene(rng)
		count[s.Background]++
		if s.Faded < 0 || s.Faded > maxFaded {
			t.Fatalf("a training scene faded by %g", s.Faded)
		}
		if s.Faded > 0 {
			faded++
		}
		if held := Random(rng); held.Background == NoiseBackground || held.Background == TintBackground || held.Faded != 0 {
			t.Fatalf("a held-out scene lies on %s, faded by %g", held.Background, held.Faded)
		}
	}
	if faded < 420 || faded > 580 {
		t.Errorf("%d of 2000 training scenes faded, want about 500", faded)
	}
	if count[NoiseBackground] < 150 || count[NoiseBackground] > 250 {
		t.Errorf("%d of 2000 training scenes on noise, want about 200", count[NoiseBackground])
	}
	if count[TintBackground] < 420 || count[TintBackground] > 580 {
		t.Errorf("%d of 2000 training scenes on a tint, want about 500", count[TintBackground])
	}
}

// TestGroupedBatchComesInHardNegativeGroups checks that a batch is made of groups whose scenes
// differ from the group's first in exactly one attribute.
func TestGroupedBatchComesInHardNegativeGroups(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	batch := GroupedBatch(rng, 64)
	if len(batch) != 64 {
		t.Fatalf("%d scenes, want 64", len(batch))
	}
	groups, first := 0, batch[0]
	for i, s := range batch {
		switch differences(first, s) {
		case 0:
			if i > 0 && s != first {
				t.Errorf("scene %d equals its group's first but is not it", i)
			}
		case 1:
		default:
			first = s
			groups++
		}
	}
	if groups < 64/GroupSize-1 {
		t.Errorf("%d groups in 64 scenes, want about %d", groups+1, 64/GroupSize)
	}
}

func differences(a, b Scene) int {
	n := 0
	for _, d := range [][2]string{{a.Shape, b.Shape}, {a.Color, b.Color}, {a.Size, b.Size}, {a.Count, b.Count},
		{a.Position, b.Position}, {a.Background, b.Background}} {
		if d[0] != d[1] {
			n++
		}
	}
	return n
}

// TestColourGroupsKeepColoursOfTheBackground checks that hard-negative groups of colour draw
// shapes of the background's own colour, and other groups never do.
func TestColourGroupsKeepColoursOfTheBackground(t *testing.T) {
	hidden := 0
	for step := range 50 {
		s := GroupedBatch(rand.New(rand.NewPCG(1, uint64(step))), 64)
		for i, scene := range s {
			if scene.Visible() {
				continue
			}
			hidden++
			for _, j := range []int{i - 1, i + 1} {
				if j >= 0 && j < len(s) && differences(scene, s[j]) == 1 && scene.Color == s[j].Color {
					t.Fatalf("scene %d (%+v) melts into its background in a group that does not vary colour", i, scene)
				}
			}
		}
	}
	if hidden == 0 {
		t.Error("no scene of 50 batches has a shape of its background's colour")
	}
}

// TestWordsHoldEveryCaption words many captions and checks that Words holds each of their
// words, and no word twice.
func TestWordsHoldEveryCaption(t *testing.T) {
	words := Words()
	if !slices.IsSorted(words) || len(slices.Compact(slices.Clone(words))) != len(words) {
		t.Errorf("words not sorted or not distinct: %v", words)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		s := Random(rng)
		for _, text := range []string{s.Caption(rng).Text, s.Describe()} {
			for _, w := range strings.Fields(text) {
				if _, found := slices.BinarySearch(words, w); !found {
					t.Fatalf("%q of caption %q is not among the words", w, text)
				}
			}
		}
	}
	for _, w := range []string{"tree", "castle", "circle"} {
		if _, found := slices.BinarySearch(words, w); found != (w == "circle") {
			t.Errorf("%q among the words: %v", w, found)
		}
	}
}

// TestTintIsTheShapesColour checks the tint's pixels far from the shape: flat, 0.3 to 0.6 of
// the way from grey to the shape's colour, for every colour.
func TestTintIsTheShapesColour(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, c := range Colors {
		s := Scene{Shape: "circle", Color: c, Size: "small", Count: "one", Position: "left", Background: TintBackground}
		img := s.Render(rng, 64)
		corner, far := img.Pix[img.PixOffset(63, 63):], img.Pix[img.PixOffset(40, 10):]
		fill := palette[c]
		for k := range 3 {
			if corner[k] != far[k] {
				t.Errorf("%s: tint not flat: %v and %v", c, corner[:3], far[:3])
			}
			share := (float64(corner[k])/255 - 0.5) / (fill[k] - 0.5)
			if math.Abs(fill[k]-0.5) > 0.2 && (share < 0.2 || share > 0.7) {
				t.Errorf("%s: channel %d is %d, %.2f of the way from grey to %.2f", c, k, corner[k], share, fill[k])
			}
		}
	}
}

// TestUnnamedBackgroundMeansTint checks that a caption naming no background fits a scene on a
// tint and not one on plain grey, whose captions always name it.
func TestUnnamedBackgroundMeansTint(t *testing.T) {
	grey := Scene{Shape: "star", Color: "blue", Size: "large", Count: "two", Position: "top", Background: PlainBackground}
	tinted := grey
	tinted.Background = TintBackground
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		if c := grey.Caption(rng); !c.Names.Background || c.Describes(tinted) {
			t.Fatalf("caption %q of a grey scene: names the background %v, fits the tint %v", c.Text, c.Names.Background, c.Describes(tinted))
		}
		if c := tinted.Caption(rng); c.Names.Background || !c.Describes(tinted) || c.Describes(grey) {
			t.Fatalf("caption %q of a tinted scene: names the background %v, fits it %v, fits grey %v",
				c.Text, c.Names.Background, c.Describes(tinted), c.Describes(grey))
		}
	}
}

// TestBackgroundGroupsHoldATint checks that every hard-negative group that varies the
// background starts with a scene on TintBackground, and that such groups come about twice as
// often as those that vary the size.
func TestBackgroundGroupsHoldATint(t *testing.T) {
	backgroundGroups, sizeGroups := 0, 0
	for step := range 50 {
		batch := GroupedBatch(rand.New(rand.NewPCG(2, uint64(step))), 64)
		for start := 0; start+1 < len(batch); {
			first, second := batch[start], batch[start+1]
			end := start + 1
			for end < len(batch) && differences(first, batch[end]) == 1 {
				end++
			}
			switch {
			case end == start+1: // a group of one
			case first.Background != second.Background:
				backgroundGroups++
				if first.Background != TintBackground {
					t.Errorf("a group varying the background starts on %q, want the tint: %+v", first.Background, batch[start:end])
				}
			case first.Size != second.Size:
				sizeGroups++
			}
			start = end
		}
	}
	if backgroundGroups < sizeGroups*3/2 || backgroundGroups > sizeGroups*3 {
		t.Errorf("%d groups vary the background and %d the size, want about twice as many", backgroundGroups, sizeGroups)
	}
}

// TestFadedScenesLieNearGrey renders a scene faded and not, from the same random draws, and
// checks that each faded pixel lies the fade's share nearer to mid-grey.
func TestFadedScenesLieNearGrey(t *testing.T) {
	s := Scene{Shape: "star", Color: "blue", Size: "large", Count: "two", Position: "left", Background: "sand"}
	faded := s
	faded.Faded = 0.6
	plain := s.Render(rand.New(rand.NewPCG(9, 9)), 48).Pix
	pale := faded.Render(rand.New(rand.NewPCG(9, 9)), 48).Pix
	for i := range plain {
		if i%4 == 3 { // alpha
			continue
		}
		want := 127.5 + 0.4*(float64(plain[i])-127.5)
		if math.Abs(float64(pale[i])-want) > 1.5 {
			t.Fatalf("byte %d: %d faded to %d, want about %.1f", i, plain[i], pale[i], want)
		}
	}
}
