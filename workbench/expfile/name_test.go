package expfile

import (
	"testing"
)

func TestRunName(t *testing.T) {
	t.Chdir(t.TempDir())
	writePNG(t, "x.png")
	for _, c := range []struct{ yaml, want string }{
		{"name: My Sweep!\ntargets: [{features: [a red circle]}]", "my-sweep"},
		{"targets: [{features: [\"A large red circle, in the centre, on a blue sky at dusk\"]}]",
			"a-large-red-circle-in-the-centre-on-a"},
		{"targets: [{features: [{image: x.png}]}]", "fallback"},
	} {
		f, err := Parse("test", []byte(c.yaml))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.RunName("fallback"); got != c.want {
			t.Errorf("%q: run name %q, want %q", c.yaml, got, c.want)
		}
	}
}
