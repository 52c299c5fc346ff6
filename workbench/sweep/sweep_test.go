package sweep

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func mustVary(t *testing.T, args ...string) []Axis {
	t.Helper()
	var axes []Axis
	for _, a := range args {
		axis, err := ParseVary(a)
		if err != nil {
			t.Fatal(err)
		}
		axes = append(axes, axis)
	}
	return axes
}

func folders(vs []Variant) []string {
	var out []string
	for i, v := range vs {
		if v.Index != i {
			panic("variants out of order")
		}
		out = append(out, v.Folder)
	}
	return out
}

func TestRangesExpand(t *testing.T) {
	for arg, want := range map[string][]string{
		"seed=1..4":            {"1", "2", "3", "4"},
		"seed=3..1":            {"3", "2", "1"},
		"seed=0..0,7":          {"0", "7"},
		"learnrate=0.02, 0.04": {"0.02", "0.04"},
		"targets.0.features.0=a cat... sleeping,a dog": {"a cat... sleeping", "a dog"},
	} {
		a := mustVary(t, arg)[0]
		if !reflect.DeepEqual(a.Values, want) {
			t.Errorf("%s: %v, want %v", arg, a.Values, want)
		}
	}
	for _, bad := range []string{"seed", "=1,2", "seed=", "seed=1,,2", "seed=0.5..3", "seed=1..99999999", "sweep.vary.seed=1,2", "sweep=1"} {
		if _, err := ParseVary(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestGridIsDeterministic(t *testing.T) {
	axes := mustVary(t, "seed=1..2", "learnrate=0.02,0.04")
	want := []string{"seed-1_learnrate-0.02", "seed-1_learnrate-0.04", "seed-2_learnrate-0.02", "seed-2_learnrate-0.04"}
	for range 5 {
		vs, err := Expand(axes, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := folders(vs); !reflect.DeepEqual(got, want) {
			t.Fatalf("%v, want %v", got, want)
		}
	}
	vs, _ := Expand(axes, false)
	if s := vs[2].Settings(axes); !reflect.DeepEqual(s, []string{"seed=2", "learnrate=0.02"}) {
		t.Errorf("settings %v", s)
	}
}

func TestZipPairsValues(t *testing.T) {
	vs, err := Expand(mustVary(t, "seed=1..3", "targets.a.features=[red],[blue],[a/b c]"), true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"seed-1_targets.a.features-red", "seed-2_targets.a.features-blue", "seed-3_targets.a.features-a-b-c"}
	if got := folders(vs); !reflect.DeepEqual(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
	if _, err := Expand(mustVary(t, "seed=1..3", "learnrate=1,2"), true); err == nil || !strings.Contains(err.Error(), "one length") {
		t.Errorf("unequal zip: %v", err)
	}
}

// TestSignedValuesNameTheirFolders keeps a value's leading minus and point in its folder's
// name, refuses one number written twice (0.1 and .1) but not two texts (1 and 1.0), and an
// axis of no values.
func TestSignedValuesNameTheirFolders(t *testing.T) {
	vs, err := Expand(mustVary(t, "learnrate=-0.5,0.5,.1,-.25,-x"), false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"learnrate--0.5", "learnrate-0.5", "learnrate-.1", "learnrate--.25", "learnrate--x"}
	if got := folders(vs); !reflect.DeepEqual(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
	if _, err := Expand(mustVary(t, "learnrate=0.1,.1"), false); err == nil || !strings.Contains(err.Error(), "one number") {
		t.Errorf("0.1 and .1: %v", err)
	}
	if _, err := Expand(mustVary(t, "targets.a.features.0=1,1.0"), false); err != nil {
		t.Errorf("the texts 1 and 1.0: %v", err)
	}
	if _, err := Expand([]Axis{{Key: "seed"}}, false); err == nil || !strings.Contains(err.Error(), "no values") {
		t.Errorf("an axis of no values: %v", err)
	}
}

func TestFolderNamesStayUnique(t *testing.T) {
	vs, err := Expand(mustVary(t, "text=a b,a/b,c"), false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"text-a-b_0", "text-a-b_1", "text-c"}
	if got := folders(vs); !reflect.DeepEqual(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
	if _, err := Expand(mustVary(t, "seed=1,2", "seed=3"), false); err == nil {
		t.Error("a key varied twice was accepted")
	}
	if _, err := Expand(nil, false); err == nil {
		t.Error("a sweep of nothing was accepted")
	}
}

func TestManifestRoundTrips(t *testing.T) {
	dir := t.TempDir()
	axes := mustVary(t, "seed=1..2")
	vs, _ := Expand(axes, false)
	m := &Manifest{Files: []string{"demo.yaml"}, Axes: axes, Variants: vs}
	if err := m.Write(dir); err != nil {
		t.Fatal(err)
	}
	back, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, m) || back.SameSweep(m) != nil {
		t.Errorf("%+v came back as %+v", m, back)
	}
	other, _ := Expand(mustVary(t, "seed=1..3"), false)
	if (&Manifest{Variants: other}).SameSweep(m) == nil {
		t.Error("another sweep was taken for the same")
	}
}

func TestExpandValueKeepsTexts(t *testing.T) {
	for v, want := range map[string][]string{
		"1..3":                  {"1", "2", "3"},
		"-1..-2":                {"-1", "-2"},
		"a red circle, glowing": {"a red circle, glowing"},
		"wait... a circle":      {"wait... a circle"},
		"0.02":                  {"0.02"},
	} {
		got, err := ExpandValue(v)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %v, %v; want %v", v, got, err, want)
		}
	}
	if _, err := ExpandValue("0.1..0.3"); err == nil || !strings.Contains(err.Error(), "a range is two integers") {
		t.Errorf("0.1..0.3: %v", err)
	}
	for _, huge := range []string{"0..10000", "-9223372036854775808..9223372036854775807"} {
		if _, err := ExpandValue(huge); err == nil || !strings.Contains(err.Error(), "more than 10000 values") {
			t.Errorf("%s: %v", huge, err)
		}
	}
}

func TestHugeGridIsRefused(t *testing.T) {
	axes := mustVary(t, "seed=1..100", "learnrate=1..100", "init.std=1..2")
	if _, err := Expand(axes, false); err == nil || !strings.Contains(err.Error(), "more than 10000 variants") {
		t.Errorf("a grid of 20000 variants: %v", err)
	}
}

func TestOverrideReplacesInPlace(t *testing.T) {
	file := mustVary(t, "seed=1..2", "learnrate=0.02,0.04")
	flags := mustVary(t, "init.std=0.1", "seed=7")
	got := Override(file, flags)
	want := mustVary(t, "seed=7", "learnrate=0.02,0.04", "init.std=0.1")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%v, want %v", got, want)
	}
	if file[0].Values[0] != "1" {
		t.Error("Override changed the file's axes")
	}
}

// TestRepeatedValuesAreRefused checks that a value given twice in an axis (ranges included),
// which would run one experiment twice, is refused, as is a zip of more than MaxVariants.
func TestRepeatedValuesAreRefused(t *testing.T) {
	for _, arg := range []string{"seed=1,1", "seed=1..3,2", "learnrate=0.1, 0.1"} {
		if _, err := Expand(mustVary(t, arg), false); err == nil || !strings.Contains(err.Error(), "twice") {
			t.Errorf("%s: %v", arg, err)
		}
	}
	long := Axis{Key: "seed", Values: make([]string, MaxVariants+1)}
	for i := range long.Values {
		long.Values[i] = strconv.Itoa(i)
	}
	if _, err := Expand([]Axis{long}, true); err == nil || !strings.Contains(err.Error(), "more than 10000 variants") {
		t.Errorf("a zip of %d variants: %v", len(long.Values), err)
	}
}

// TestSameSweepComparesValuesAndSettings checks that a sweep whose folder names are the same
// but whose experiment files, values or settings differ is another sweep.
func TestSameSweepComparesValuesAndSettings(t *testing.T) {
	manifest := func(settings []string, vary string) *Manifest {
		axes := mustVary(t, vary)
		vs, err := Expand(axes, false)
		if err != nil {
			t.Fatal(err)
		}
		return &Manifest{Files: []string{"a/demo.yaml"}, Settings: settings, Axes: axes, Variants: vs}
	}
	m := manifest([]string{"epochs=2"}, "targets.0.features.0=a red circle,a blue square")
	if manifest(nil, "x y=1,2").SameSweep(manifest(nil, "x-y=1,2")) == nil {
		t.Error("other keys were taken for the same sweep")
	}
	same := manifest([]string{"epochs=2"}, "targets.0.features.0=a red circle,a blue square")
	if same.Files = []string{"./a/demo.yaml"}; same.SameSweep(m) != nil {
		t.Errorf("the same file, spelled ./a/demo.yaml, was taken for another sweep: %v", same.SameSweep(m))
	}
	otherFile := manifest([]string{"epochs=2"}, "targets.0.features.0=a red circle,a blue square")
	otherFile.Files = []string{"b/demo.yaml"}
	if err := otherFile.SameSweep(m); err == nil || !strings.Contains(err.Error(), "b/demo.yaml") {
		t.Errorf("another file of the same name: %v, want it refused by name", err)
	}
	edited := manifest([]string{"epochs=2"}, "targets.0.features.0=a red circle,a blue square")
	m.Digests, edited.Digests = []string{"aaaa"}, []string{"bbbb"}
	if err := edited.SameSweep(m); err == nil || !strings.Contains(err.Error(), "a/demo.yaml changed since the sweep started") {
		t.Errorf("the file edited since the sweep started: %v", err)
	}
	if older := manifest([]string{"epochs=2"}, "targets.0.features.0=a red circle,a blue square"); older.SameSweep(m) != nil {
		t.Error("a manifest without digests (an older sweep's) was taken for another sweep")
	}
	for what, other := range map[string]*Manifest{
		"settings": manifest([]string{"epochs=3"}, "targets.0.features.0=a red circle,a blue square"),
		"values":   manifest([]string{"epochs=2"}, "targets.0.features.0=a red-circle,a blue-square"),
	} {
		if err := other.SameSweep(m); err == nil {
			t.Errorf("other %s were taken for the same sweep", what)
		}
	}
}

// TestDamagedManifestIsRefused checks that a sweep.json whose variants name folders outside the
// sweep folder, or do not fit its axes, is refused with its path.
func TestDamagedManifestIsRefused(t *testing.T) {
	axes := mustVary(t, "seed=1..2")
	for what, damage := range map[string]func(*Variant){
		"a folder outside":  func(v *Variant) { v.Folder = "../../etc" },
		"a nested folder":   func(v *Variant) { v.Folder = "a/b" },
		"an empty folder":   func(v *Variant) { v.Folder = "" },
		"too few values":    func(v *Variant) { v.Values = nil },
		"another index":     func(v *Variant) { v.Index = 7 },
		"an absolute path":  func(v *Variant) { v.Folder = "/etc" },
		"the folder itself": func(v *Variant) { v.Folder = "." },
	} {
		dir := t.TempDir()
		vs, _ := Expand(axes, false)
		damage(&vs[1])
		if err := (&Manifest{Axes: axes, Variants: vs}).Write(dir); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadManifest(dir); err == nil || !strings.Contains(err.Error(), "is damaged") {
			t.Errorf("%s: %v", what, err)
		}
	}
}

// TestLongFolderNamesAreCut checks that the folder of a variant of many long keys and values
// fits a file system's 255 bytes, and stays its own.
func TestLongFolderNamesAreCut(t *testing.T) {
	long := strings.Repeat("a", 45)
	var args []string
	for _, key := range []string{"targets.composition.features.0", "targets.composition.features.1", "targets.details.features.0", "targets.details.name"} {
		args = append(args, key+"="+long+","+long+"b")
	}
	vs, err := Expand(mustVary(t, args...), true)
	if err != nil {
		t.Fatal(err)
	}
	if f := folders(vs); len(f[0]) > 255 || len(f[1]) > 255 || f[0] == f[1] || !strings.HasSuffix(f[1], "_1") {
		t.Errorf("folders %q", f)
	}
}
