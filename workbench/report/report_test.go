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
