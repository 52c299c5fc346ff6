package workbench

// Win rates have one definition, used by every chart, table and report: a feature's win rate is
// the share of its target's windows in which it was the feature applied, as CLIPig picks it
// (the best or worst active feature, whatever its weight's sign). Targets that apply every
// feature in every window (select all, or mix's one blended direction) have no win rates, nor
// has anti-text, which every window applies.

// AppliedEverywhere reports whether every window applies every feature, so that win rates mean
// nothing and similarities tell the features apart instead.
func (t *TargetStats) AppliedEverywhere() bool {
	return t.Select == SelectAll || t.Select == SelectMix || t.Select == ""
}

// ConstraintsOnly reports whether the target has no features, only constraints (CLIP never
// sees its windows, so it has no similarities or win rates).
func (t *TargetStats) ConstraintsOnly() bool { return len(t.Features) == 0 }

// Summary is how reports describe a target without win rates: constraints only, or every
// feature applied in every window ("" for a target with win rates).
func (t *TargetStats) Summary() string {
	switch {
	case t.ConstraintsOnly():
		return "constraints only"
	case t.AppliedEverywhere():
		return "applied in every window"
	}
	return ""
}

// Counts reports whether feature j's windows count as wins: a feature, not anti-text, of a
// target that chooses one feature per window.
func (t *TargetStats) Counts(j int) bool {
	return !t.AppliedEverywhere() && !t.Features[j].EveryWindow
}

// WinRate is the share of the target's windows that feature j won; ok is false where the
// feature has no win rate (see Counts).
func (t *TargetStats) WinRate(j int) (rate float64, ok bool) {
	if !t.Counts(j) || t.Windows == 0 {
		return 0, false
	}
	return float64(t.Features[j].Frames) / float64(t.Windows), true
}

// WonAt is how many of the target's windows feature j won at one step of the history, and how
// many windows the target drew then; ok is false where the feature has no win rate or the target
// was not active at that step.
func (t *TargetStats) WonAt(rec StepRecord, j int) (won, windows int, ok bool) {
	frames, active := rec.Frames[t.Name]
	if !active || !t.Counts(j) || j >= len(frames) {
		return 0, 0, false
	}
	windows, recorded := rec.Windows[t.Name]
	if !recorded { // runs stored before Windows was recorded: one feature applied per window
		windows = 0
		for _, n := range frames {
			windows += n
		}
	}
	return frames[j], windows, true
}

// Best is the positive feature with the highest win rate, or -1 where the target has none.
func (t *TargetStats) Best() int {
	best := -1
	for j, f := range t.Features {
		if t.Counts(j) && !f.Negative && (best < 0 || f.Frames > t.Features[best].Frames) {
			best = j
		}
	}
	return best
}
