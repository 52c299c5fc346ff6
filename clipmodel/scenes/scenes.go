// Package scenes renders small captioned images of coloured shapes on backgrounds, the training
// data of clipwork's embedded default CLIP. Everything follows from a seed.
package scenes

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Shapes, colours, sizes, counts, positions and backgrounds a scene can have.
var (
	Shapes      = []string{"circle", "square", "triangle", "star", "ring", "cross", "stripes", "diamond", "heart"}
	Colors      = []string{"red", "orange", "yellow", "green", "blue", "purple", "pink", "white", "black", "brown"}
	Sizes       = []string{"small", "large"}
	Counts      = []string{"one", "two", "three", "four", "many"}
	Positions   = []string{"left", "right", "top", "bottom", "centre"}
	Backgrounds = []string{"white", "black", "grey", "grass", "sky", "water", "night", "brick", "sand"}
)

// NoiseBackground is strong colour noise on grey, what an image optimisation that chases
// imperceptible patterns paints. Training shows it (TrainingScene) and captions name it ("on
// noise"), so that captions naming no background, which mean plain grey, score noise low and
// their gradients smooth it away; held-out scenes (Random) leave it out.
const NoiseBackground = "noise"

// TintBackground is a plain tint of the shapes' own colour: the background of captions that
// name none. Photos of red things are mostly red, and real CLIP's colour words pull a whole
// picture towards their colour; were such captions to mean grey, a colour word would claim only
// its shapes and pull the rest of the picture back to grey. Training shows it (TrainingScene);
// held-out scenes (Random) leave it out.
const TintBackground = "tint"

// Attribute is one way scenes vary: its name, its values and how to set it on a scene.
type Attribute struct {
	Name    string
	Options []string
	Set     func(*Scene, string)
}

// The attributes captions name, for hard negatives, zero-shot tests and training heads.
var (
	ShapeAttribute      = Attribute{"shape", Shapes, func(s *Scene, v string) { s.Shape = v }}
	ColorAttribute      = Attribute{"colour", Colors, func(s *Scene, v string) { s.Color = v }}
	SizeAttribute       = Attribute{"size", Sizes, func(s *Scene, v string) { s.Size = v }}
	CountAttribute      = Attribute{"count", Counts, func(s *Scene, v string) { s.Count = v }}
	PositionAttribute   = Attribute{"position", Positions, func(s *Scene, v string) { s.Position = v }}
	BackgroundAttribute = Attribute{"background", append(slices.Clone(Backgrounds), NoiseBackground),
		func(s *Scene, v string) { s.Background = v }}
)

// palette are the shape colours in RGB.
var palette = map[string][3]float64{
	"red": {0.85, 0.1, 0.1}, "orange": {0.95, 0.55, 0.1}, "yellow": {0.95, 0.9, 0.15},
	"green": {0.15, 0.7, 0.2}, "blue": {0.15, 0.3, 0.9}, "purple": {0.55, 0.2, 0.75},
	"pink": {0.98, 0.55, 0.75}, "white": {0.97, 0.97, 0.97}, "black": {0.05, 0.05, 0.05},
	"brown": {0.5, 0.3, 0.12},
}

// ColorRGB is the RGB value, in [0, 1], that scenes paint a colour of Colors in; false for a
// name not in Colors.
func ColorRGB(name string) ([3]float64, bool) {
	c, ok := palette[name]
	return c, ok
}

// AddNoise adds uniform noise of a random standard deviation, up to maxStd, to pixels (not
// clipped to [0, 1]) and returns them.
func AddNoise(rng *rand.Rand, pixels []float32, maxStd float64) []float32 {
	halfWidth := float32(math.Sqrt(3) * maxStd * rng.Float64()) // uniform on [-w, w] has std w/sqrt(3)
	for i := range pixels {
		pixels[i] += halfWidth * float32(2*rng.Float64()-1)
	}
	return pixels
}

// Scene is one scene's content.
type Scene struct {
	Shape, Color, Size, Count, Position, Background string
	// Faded is how far the whole picture is faded towards mid-grey, from 0 (not at all) to 1.
	Faded float64
}

// Number is how many shapes Count stands for (many: five to seven, drawn by Render's rng).
func (s Scene) number(rng *rand.Rand) int {
	switch s.Count {
	case "two":
		return 2
	case "three":
		return 3
	case "four":
		return 4
	case "many":
		return 5 + rng.IntN(3)
	}
	return 1
}

// TrainingScene draws a scene as Random does, but a tenth of them on NoiseBackground, three in
// four of those on PlainBackground on TintBackground, and a quarter of all faded up to
// maxFaded.
func TrainingScene(rng *rand.Rand) Scene {
	s := Random(rng)
	if rng.IntN(10) == 0 {
		s.Background = NoiseBackground
	}
	if s.Background == PlainBackground && rng.IntN(4) > 0 {
		s.Background = TintBackground
	}
	if rng.IntN(4) == 0 {
		s.Faded = maxFaded * rng.Float64()
	}
	return s
}

// maxFaded is how far training scenes fade at most. An image optimisation starts from grey and
// passes through faint versions of what it paints: shown faint scenes under their captions, a
// robust model's gradients near grey already point to the whole scene (a red disc on a blue
// sky), not to a blend of its colours (a violet field).
const maxFaded = 0.75

// Random draws a scene whose shape colour stands out from its background.
func Random(rng *rand.Rand) Scene {
	for {
		s := Scene{
			Shape: pick(rng, Shapes), Color: pick(rng, Colors), Size: pick(rng, Sizes),
			Count: pick(rng, Counts), Position: pick(rng, Positions), Background: pick(rng, Backgrounds),
		}
		if rng.IntN(4) == 0 {
			s.Background = PlainBackground // a third of all scenes, grey as an optimisation starts
		}
		if s.Visible() {
			return s
		}
	}
}

// Visible tells whether the shapes' colour stands out from the background.
func (s Scene) Visible() bool { return !clashes(s.Color, s.Background) }

// clashes tells whether a colour would be hard to see on a background.
func clashes(c, background string) bool {
	switch background {
	case "white":
		return c == "white" || c == "yellow"
	case "black", "night":
		return c == "black"
	case "grass":
		return c == "green"
	case "sky", "water":
		return c == "blue"
	case "brick":
		return c == "red" || c == "brown" || c == "orange"
	case "sand":
		return c == "yellow" || c == "orange" || c == "brown"
	case "grey":
		return false
	}
	return false
}

func pick(rng *rand.Rand, options []string) string { return options[rng.IntN(len(options))] }

// Caption is a scene's description in words: Text names the scene's shape, colour and count
// always, and its size, position and background where Names says so.
type Caption struct {
	Text  string
	Scene Scene
	Names Named
}

// Named tells which of a scene's optional attributes a caption names.
type Named struct{ Size, Position, Background bool }

// Describes tells whether the caption fits scene s: same shape, colour, count and background
// (TintBackground where it names none), and the same size and position where it names them.
func (c Caption) Describes(s Scene) bool {
	d := c.Scene
	return d.Shape == s.Shape && d.Color == s.Color && d.Count == s.Count && d.Background == s.Background &&
		(!c.Names.Size || d.Size == s.Size) &&
		(!c.Names.Position || d.Position == s.Position)
}

// PlainBackground is plain grey, what an image optimisation starts from (CLIPig's init is grey
// noise), the background of a third of the held-out scenes.
const PlainBackground = "grey"

// Describe is the scene's caption in one fixed wording that names everything, for zero-shot
// prompts.
func (s Scene) Describe() string {
	return s.caption(func([]string) int { return 0 }, Named{true, true, true})
}

// Caption describes the scene in one of several wordings, naming its size in two captions of
// three, its position in three of four, and its background always but for TintBackground,
// which none names.
func (s Scene) Caption(rng *rand.Rand) Caption {
	names := Named{Size: rng.IntN(3) > 0, Position: rng.IntN(4) > 0, Background: s.Background != TintBackground}
	text := s.caption(func(options []string) int { return rng.IntN(len(options)) }, names)
	return Caption{Text: text, Scene: s, Names: names}
}

// caption words the scene, choosing among wordings with choose and naming what names says.
func (s Scene) caption(choose func(options []string) int, names Named) string {
	noun := s.Shape
	if s.Count != "one" {
		noun = plural(s.Shape)
	}
	article := "a"
	if s.Count != "one" {
		article = s.Count
	} else if s.Shape == "stripes" {
		article = "some"
	}
	var adjectives []string
	if names.Size {
		adjectives = append(adjectives, s.Size)
	}
	adjectives = append(adjectives, s.Color)
	object := strings.Join(append(append([]string{article}, adjectives...), noun), " ")
	if article == "a" && startsWithVowel(adjectives[0]) {
		object = "an" + object[1:]
	}
	if s.Count == "many" {
		object = strings.Join(append(append([]string{"many"}, adjectives...), noun), " ")
	}
	word := func(options []string) string { return options[choose(options)] }
	var parts []string
	if names.Position {
		parts = append(parts, word(positionWords[s.Position]))
	}
	if names.Background {
		parts = append(parts, word(backgroundWords[s.Background]))
	}
	if len(parts) == 2 && choose([]string{"keep", "swap"}) == 1 {
		parts[0], parts[1] = parts[1], parts[0]
	}
	prefixes := []string{"", "", "a picture of ", "a photo of ", "an image of "}
	return word(prefixes) + strings.Join(append([]string{object}, parts...), " ")
}

// positionWords and backgroundWords are the ways captions name positions and backgrounds.
var (
	positionWords = map[string][]string{
		"left": {"on the left", "at the left"}, "right": {"on the right", "at the right"},
		"top": {"at the top", "in the upper part"}, "bottom": {"at the bottom", "in the lower part"},
		"centre": {"in the centre", "in the middle", "in the center"},
	}
	backgroundWords = map[string][]string{
		"white": {"on white", "on a white background"}, "black": {"on black", "on a black background"},
		"grey": {"on grey", "on a grey background"}, "grass": {"on grass", "on green grass"},
		"sky": {"in the sky", "on a blue sky"}, "water": {"on water", "over water"},
		"night": {"at night", "in the night sky"}, "brick": {"on a brick wall", "on bricks"},
		"sand":          {"on sand", "on a sandy beach"},
		NoiseBackground: {"on noise", "on a noisy background", "on static"},
	}
)

func startsWithVowel(word string) bool { return strings.ContainsRune("aeiou", rune(word[0])) }

func plural(shape string) string {
	switch shape {
	case "cross":
		return "crosses"
	case "stripes":
		return "stripes"
	}
	return shape + "s"
}

// Render draws the scene at size x size pixels.
func (s Scene) Render(rng *rand.Rand, size int) *image.NRGBA {
	n := s.number(rng)
	radius := map[string]float64{"small": 0.085, "large": 0.16}[s.Size] * (0.9 + 0.2*rng.Float64())
	radius *= []float64{1, 1, 0.9, 0.8, 0.7, 0.6, 0.55, 0.5}[n]
	centres, radius := place(rng, s.Position, n, radius)
	fill := jitter(rng, palette[s.Color])
	angles := make([]float64, n)
	for i := range angles {
		angles[i] = (rng.Float64() - 0.5) * 0.5
	}
	bg := background(s.Background, fill, rng)
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	const samples = 3 // supersampling per axis, for smooth shape edges
	for py := range size {
		for px := range size {
			cx, cy := (float64(px)+0.5)/float64(size), (float64(py)+0.5)/float64(size)
			c := bg(cx, cy)
			if cover := coverage(s.Shape, centres, angles, radius, px, py, size, samples); cover > 0 {
				for k := range 3 {
					c[k] += cover * (fill[k] - c[k])
				}
			}
			for k := range 3 {
				c[k] += s.Faded * (0.5 - c[k])
			}
			img.SetNRGBA(px, py, color.NRGBA{to8(c[0]), to8(c[1]), to8(c[2]), 255})
		}
	}
	return img
}

// coverage is the fraction of a pixel's subsamples inside any of the shapes.
func coverage(shape string, centres [][2]float64, angles []float64, radius float64, px, py, size, samples int) float64 {
	cx, cy := (float64(px)+0.5)/float64(size), (float64(py)+0.5)/float64(size)
	var near []int
	for i, c := range centres {
		if math.Abs(cx-c[0]) < 1.5*radius && math.Abs(cy-c[1]) < 1.5*radius {
			near = append(near, i)
		}
	}
	if len(near) == 0 {
		return 0
	}
	hits := 0
	for sy := range samples {
		for sx := range samples {
			x := (float64(px) + (float64(sx)+0.5)/float64(samples)) / float64(size)
			y := (float64(py) + (float64(sy)+0.5)/float64(samples)) / float64(size)
			for _, i := range near {
				if inside(shape, (x-centres[i][0])/radius, (y-centres[i][1])/radius, angles[i]) {
					hits++
					break
				}
			}
		}
	}
	return float64(hits) / float64(samples*samples)
}

func to8(v float64) uint8 { return uint8(math.Round(min(max(v, 0), 1) * 255)) }

func jitter(rng *rand.Rand, c [3]float64) [3]float64 {
	for k := range c {
		c[k] = min(max(c[k]+(rng.Float64()-0.5)*0.1, 0), 1)
	}
	return c
}

// anchors are the points that name positions: a group of shapes is at the position whose
// anchor is nearest to the group's centroid.
var anchors = map[string][2]float64{
	"left": {0.2, 0.5}, "right": {0.8, 0.5}, "top": {0.5, 0.2}, "bottom": {0.5, 0.8}, "centre": {0.5, 0.5},
}

// anchorMargin is how much nearer a group's centroid is to its own anchor than to any other, so
// that no picture fits two positions (a shape in a corner is neither "left" nor "top").
const anchorMargin = 0.04

// centreDrift is how far a shape's pixels' centroid may lie from its centre (a large
// triangle's lies a fifth of its radius below it): place keeps the centres' centroid this much
// further within the margin, so that the pixels' centroid keeps anchorMargin.
const centreDrift = 0.045

// place spreads n centres over the region of a position with their centroid unambiguously at
// that position, and without overlaps, shrinking the shapes' radius where they would not fit
// apart (four large shapes in the centre would otherwise merge into one blob, which no model
// could count). It returns the centres and the radius.
func place(rng *rand.Rand, position string, n int, radius float64) ([][2]float64, float64) {
	for {
		for range 100 {
			centres, apart := spread(rng, position, n, radius)
			if apart && nearestAnchor(centroid(centres), anchorMargin+centreDrift) == position {
				return centres, radius
			}
		}
		radius *= 0.9
	}
}

// regions are the areas, x0, y0, x1, y1, that each position's shapes are drawn in.
var regions = map[string][4]float64{
	"left": {0.05, 0.1, 0.4, 0.9}, "right": {0.6, 0.1, 0.95, 0.9},
	"top": {0.1, 0.05, 0.9, 0.4}, "bottom": {0.1, 0.6, 0.9, 0.95}, "centre": {0.3, 0.3, 0.7, 0.7},
}

// Two shapes' centres are at least minApart radii plus minGap (of the image side) apart: a
// shape reaches up to 1.27 radii from its centre (a square's or stripes' corner), and the gap
// keeps a dark pixel or two between neighbours at 64x64.
const (
	minApart = 2.6
	minGap   = 0.03
)

// spread draws n centres in the region of a position, keeping the shapes inside it and apart;
// apart is false when, after a number of draws, they could not all be.
func spread(rng *rand.Rand, position string, n int, radius float64) (centres [][2]float64, apart bool) {
	region := regions[position]
	lo := func(i int) float64 { return min(region[i]+radius, (region[i]+region[i+2])/2) }
	hi := func(i int) float64 { return max(region[i+2]-radius, lo(i)) }
	for range 200 {
		c := [2]float64{lo(0) + rng.Float64()*(hi(0)-lo(0)), lo(1) + rng.Float64()*(hi(1)-lo(1))}
		if !overlaps(c, centres, radius) {
			if centres = append(centres, c); len(centres) == n {
				return centres, true
			}
		}
	}
	return centres, false
}

// overlaps tells whether a shape at c would come too near any of centres.
func overlaps(c [2]float64, centres [][2]float64, radius float64) bool {
	for _, o := range centres {
		if math.Hypot(c[0]-o[0], c[1]-o[1]) < minApart*radius+minGap {
			return true
		}
	}
	return false
}

// centroid is the mean of points.
func centroid(points [][2]float64) [2]float64 {
	var c [2]float64
	for _, p := range points {
		c[0] += p[0] / float64(len(points))
		c[1] += p[1] / float64(len(points))
	}
	return c
}

// nearestAnchor names the position whose anchor is nearest to p by at least margin, or
// returns "" when two are about as near.
func nearestAnchor(p [2]float64, margin float64) string {
	best, second, name := math.Inf(1), math.Inf(1), ""
	for position, a := range anchors {
		d := math.Hypot(p[0]-a[0], p[1]-a[1])
		if d < best {
			best, second, name = d, best, position
		} else if d < second {
			second = d
		}
	}
	if second-best < margin {
		return ""
	}
	return name
}

// inside tells whether a point, in units of the shape's radius around its centre and rotated
// by angle, lies inside the shape.
func inside(shape string, x, y, angle float64) bool {
	sin, cos := math.Sincos(angle)
	x, y = cos*x+sin*y, -sin*x+cos*y
	ax, ay := math.Abs(x), math.Abs(y)
	r := math.Hypot(x, y)
	switch shape {
	case "circle":
		return r <= 1
	case "square":
		return ax <= 0.85 && ay <= 0.85
	case "triangle":
		return y <= 0.8 && y >= -1+2*ax*1.15 && ax <= 0.95
	case "star":
		a := math.Atan2(y, x) + math.Pi/2
		spike := math.Abs(math.Mod(a*5/(2*math.Pi)+10.5, 1) - 0.5) // 0 at a spike, 0.5 between
		return r <= 1-1.1*spike
	case "ring":
		return r <= 1 && r >= 0.6
	case "cross":
		return (ax <= 0.3 && ay <= 1) || (ay <= 0.3 && ax <= 1)
	case "stripes":
		return ax <= 0.9 && ay <= 0.9 && math.Mod(y+10, 0.45) < 0.225
	case "diamond":
		return ax+ay <= 1
	case "heart":
		hx, hy := ax, -y+0.25
		return (math.Hypot(hx-0.45, hy-0.2) <= 0.48) || (hy <= 0.3 && hy >= -0.95+hx*1.6 && hx <= 0.9)
	}
	return false
}

// background returns the background's colour at a point, for shapes filled with fill.
func background(name string, fill [3]float64, rng *rand.Rand) func(x, y float64) [3]float64 {
	if name == TintBackground {
		return tint(rng, fill)
	}
	phase := rng.Float64() * 100
	switch name {
	case "white":
		return flat(jitter(rng, [3]float64{0.95, 0.95, 0.95}))
	case "black":
		return flat(jitter(rng, [3]float64{0.05, 0.05, 0.05}))
	case "grey":
		return flat(jitter(rng, [3]float64{0.5, 0.5, 0.5}))
	case "grass":
		return func(x, y float64) [3]float64 {
			v := 0.5 + 0.5*math.Sin(x*90+math.Sin(y*30+phase)*3)
			return [3]float64{0.15 + 0.1*v, 0.45 + 0.25*v, 0.1}
		}
	case "sky":
		return func(x, y float64) [3]float64 {
			cloud := math.Max(0, math.Sin(x*9+phase)*math.Sin(y*7+phase*2)-0.5) * 1.6
			return [3]float64{0.45 + 0.5*cloud, 0.65 + 0.3*cloud, 0.95}
		}
	case "water":
		return func(x, y float64) [3]float64 {
			v := 0.5 + 0.5*math.Sin(y*60+math.Sin(x*12+phase)*2)
			return [3]float64{0.05 + 0.1*v, 0.3 + 0.2*v, 0.55 + 0.2*v}
		}
	case "night":
		return func(x, y float64) [3]float64 {
			h := math.Sin(math.Floor(x*40)*12.9898+math.Floor(y*40)*78.233+phase) * 43758.5453
			if h-math.Floor(h) > 0.97 {
				return [3]float64{0.9, 0.9, 0.8}
			}
			return [3]float64{0.03, 0.04, 0.15}
		}
	case "brick":
		return func(x, y float64) [3]float64 {
			row := math.Floor(y * 8)
			bx := x*4 + math.Mod(row, 2)*0.5
			if math.Mod(y*8, 1) < 0.12 || math.Mod(bx, 1) < 0.06 {
				return [3]float64{0.8, 0.78, 0.72}
			}
			return [3]float64{0.62, 0.25, 0.15}
		}
	case "sand":
		return func(x, y float64) [3]float64 {
			v := 0.5 + 0.5*math.Sin(x*25+y*8+phase)
			return [3]float64{0.88 + 0.06*v, 0.78 + 0.06*v, 0.55 + 0.05*v}
		}
	case NoiseBackground:
		return colourNoise(rng, phase)
	}
	panic(fmt.Sprintf("scenes: unknown background %q", name))
}

// colourNoise is NoiseBackground: grey under strong colour noise, each channel of each cell on
// its own, in cells of one to two pixels at training sizes.
func colourNoise(rng *rand.Rand, phase float64) func(x, y float64) [3]float64 {
	cells := []float64{32, 48, 64}[rng.IntN(3)]
	halfWidth := 0.25 + 0.25*rng.Float64()
	grey := jitter(rng, [3]float64{0.5, 0.5, 0.5})
	return func(x, y float64) [3]float64 {
		var c [3]float64
		for k := range c {
			h := math.Sin(math.Floor(x*cells)*12.9898+math.Floor(y*cells)*78.233+float64(k)*37.719+phase) * 43758.5453
			c[k] = min(max(grey[k]+halfWidth*(2*(h-math.Floor(h))-1), 0), 1)
		}
		return c
	}
}

// tint is TintBackground for shapes filled with fill: grey moved 0.3 to 0.6 of the way to fill,
// so that the shapes still stand out.
func tint(rng *rand.Rand, fill [3]float64) func(x, y float64) [3]float64 {
	share := 0.3 + 0.3*rng.Float64()
	var c [3]float64
	for k := range c {
		c[k] = 0.5 + share*(fill[k]-0.5)
	}
	return flat(c)
}

func flat(c [3]float64) func(x, y float64) [3]float64 {
	return func(float64, float64) [3]float64 { return c }
}

// GroupSize is how many scenes of a GroupedBatch share all attributes but one.
const GroupSize = 4

// GroupedBatch draws size training scenes in groups of GroupSize that differ in one attribute only, most
// often shape or count, the ones the vision tower is slowest to learn. In a batch of unrelated
// scenes, colour alone tells most captions apart and the contrastive loss never asks for the
// rest; hard negatives do. Groups that vary the colour keep a colour that melts into the
// background (a green circle on grass): among them, only the colour tells the captions apart.
// Groups that vary the background set a scene on TintBackground beside plain grey, noise and
// the named backgrounds: a caption naming no background ("a red circle") against the same
// shapes on a named one ("a red circle on a blue sky"), so that a named background, not the
// shapes' colour, claims the rest of the picture.
func GroupedBatch(rng *rand.Rand, size int) []Scene {
	varied := []struct {
		weight    int
		keepFirst bool // every group holds the first option
		Attribute
	}{
		{4, false, ShapeAttribute}, {3, false, CountAttribute}, {1, false, PositionAttribute},
		{2, false, ColorAttribute}, {1, false, SizeAttribute}, {2, true, groupBackgrounds},
	}
	var weighted []int
	for i, v := range varied {
		for range v.weight {
			weighted = append(weighted, i)
		}
	}
	out := make([]Scene, 0, size)
	for len(out) < size {
		base := TrainingScene(rng)
		v := varied[weighted[rng.IntN(len(weighted))]]
		var order []int
		if v.keepFirst {
			order = firstThenShuffled(rng, len(v.Options))
		} else {
			order = rng.Perm(len(v.Options))
		}
		group := 0
		for _, k := range order {
			if group == GroupSize || len(out) == size {
				break
			}
			s := base
			v.Set(&s, v.Options[k])
			if s.Visible() || v.Name == ColorAttribute.Name {
				out = append(out, s)
				group++
			}
		}
	}
	return out
}

// groupBackgrounds are the backgrounds of hard-negative groups that vary the background:
// TintBackground first, then those of BackgroundAttribute.
var groupBackgrounds = Attribute{BackgroundAttribute.Name, append([]string{TintBackground}, BackgroundAttribute.Options...),
	BackgroundAttribute.Set}

// firstThenShuffled are the indices 0 to n-1: 0 first, then the others in random order.
func firstThenShuffled(rng *rand.Rand, n int) []int {
	order := []int{0}
	for _, k := range rng.Perm(n - 1) {
		order = append(order, k+1)
	}
	return order
}

// Matches tells, for scene i and caption j, whether caption j describes scene i: a caption
// that leaves the position (or size) out fits the scenes of its group that differ only there.
func Matches(s []Scene, captions []Caption) [][]bool {
	out := make([][]bool, len(s))
	for i, scene := range s {
		out[i] = make([]bool, len(captions))
		for j, c := range captions {
			out[i][j] = c.Describes(scene)
		}
	}
	return out
}

// Words are the words of every caption, in lower case and sorted: the vocabulary a model
// trained on the scenes knows.
func Words() []string {
	phrases := append(slices.Concat(Shapes, Colors, Sizes, Counts), "a", "an", "some", "a picture of", "a photo of", "an image of")
	for _, s := range Shapes {
		phrases = append(phrases, plural(s))
	}
	for _, words := range []map[string][]string{positionWords, backgroundWords} {
		for _, options := range words {
			phrases = append(phrases, options...)
		}
	}
	var words []string
	for _, p := range phrases {
		words = append(words, strings.Fields(p)...)
	}
	slices.Sort(words)
	return slices.Compact(words)
}
