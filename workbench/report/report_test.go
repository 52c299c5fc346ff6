package report

import (
	"slices"
	"strings"
	"testing"

	"github.com/clipwork/clipwork/workbench/runstore"
)

func run(name string, config map[string]string) Run {
	return Run{Dir: &runstore.Dir{Path: "results/" + name}, Config: config}
}

// TestDifferingSettingsAreRealDifferences: targets are named by name, and a feature only one run
// has is one difference, not one per resolved default.
func TestDifferingSettingsAreRealDifferences(t *testing.T) {
	a := run("a", map[string]string{"seed": "1", "targets.details.select": "best",
		"targets.details.features.red.weight": "1", "targets.details.features.red.loss": "cosine"})
	b := run("b", map[string]string{"seed": "1", "targets.details.select": "all",
		"targets.details.features.red.weight": "1", "targets.details.features.red.loss": "cosine",
		"targets.details.features.blue.weight": "1", "targets.details.features.blue.loss": "cosine"})
	got := DifferingSettings([]Run{a, b})
	want := []string{"targets.details.features.blue", "targets.details.select"}
	if !slices.Equal(got, want) {
		t.Errorf("differences %q, want %q", got, want)
	}
	if v := Setting(a, "targets.details.features.blue"); v != "-" {
		t.Errorf("a missing feature reads %q", v)
	}
	table := SettingsTable([]Run{run("<i>x", a.Config), b})
	if !strings.Contains(table, "&lt;i&gt;x") || !strings.Contains(table, "targets.details.select") {
		t.Errorf("settings table:\n%s", table)
	}
}

// TestLabelsNameWhatDiffers: two runs of one recipe are labelled with the setting that tells
// them apart; runs differing in more than two settings by their names alone.
func TestLabelsNameWhatDiffers(t *testing.T) {
	a := run("refined", map[string]string{"seed": "1", "epochs": "60"})
	b := run("refined-1", map[string]string{"seed": "2", "epochs": "60"})
	if got := Labels([]Run{a, b}); !slices.Equal(got, []string{"refined: seed=1", "refined-1: seed=2"}) {
		t.Errorf("labels %q", got)
	}
	named := []Run{run("a", map[string]string{"name": "a", "seed": "1"}), run("b", map[string]string{"name": "b", "seed": "2"})}
	if got := Labels(named); !slices.Equal(got, []string{"a: seed=1", "b: seed=2"}) {
		t.Errorf("labels of runs named apart: %q, want the name left to the folder", got)
	}
	c := run("other", map[string]string{"seed": "3", "epochs": "10", "learnrate": "2"})
	if got := Labels([]Run{a, c}); !slices.Equal(got, []string{"refined", "other"}) {
		t.Errorf("labels of runs differing in three settings: %q", got)
	}
}

// TestStatusTableMatchesTheText: the HTML status table holds the cells the text table prints,
// escaped.
func TestStatusTableMatchesTheText(t *testing.T) {
	r := run("<b>x", nil)
	r.Summary = &runstore.Summary{Status: "done", Model: "random:tiny", Steps: 4, StepsDone: 4,
		Seconds: 2.5, WindowsPerSecond: 12.345}
	table := StatusTable([]Run{r})
	for _, want := range []string{"<th align=\"left\">windows/s</th>", "<td>&lt;b&gt;x</td>", "<td>done</td>",
		"<td>random:tiny</td>", "<td>4/4</td>", "<td>2.5</td>", "<td>12.35</td>"} {
		if !strings.Contains(table, want) {
			t.Errorf("status table lacks %s:\n%s", want, table)
		}
	}
}
