package workbench

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/gomlx/gomlx/core/tensors"
)

// Stats are a run's statistics: per target how often each feature was applied (its frame
// count) and how similar the windows were to it, and the loss over time.
type Stats struct {
	// Models names an ensemble's models, in order (empty for a run of one model).
	Models  []string       `json:"models,omitempty"`
	Targets []*TargetStats `json:"targets"`
	History []StepRecord   `json:"history"`
}

// antiTextLabel labels anti-text among a target's features.
const antiTextLabel = "anti-text"

// UnmarshalJSON reads a target's statistics; where they do not mark anti-text (EveryWindow), it
// is the last feature, labelled anti-text and negative.
func (t *TargetStats) UnmarshalJSON(data []byte) error {
	type plain TargetStats
	if err := json.Unmarshal(data, (*plain)(t)); err != nil {
		return err
	}
	if n := len(t.Features); n > 0 && t.Features[n-1].Label == antiTextLabel && t.Features[n-1].Negative {
		t.Features[n-1].EveryWindow = true
	}
	return nil
}

// TargetStats are one target's statistics.
type TargetStats struct {
	Name   string `json:"name"`
	Select string `json:"select"`
	// Windows is the number of windows the target drew.
	Windows  int             `json:"windows"`
	Features []*FeatureStats `json:"features"`
}

// FeatureStats are one feature's statistics.
type FeatureStats struct {
	Label string `json:"label"`
	Text  string `json:"text"`
	// Frames is the number of windows that applied the feature; under select best or worst,
	// the windows it won (anti-text applies to every window and wins none). Share is
	// Frames / Windows.
	Frames int     `json:"frames"`
	Share  float64 `json:"share"`
	// Negative marks a feature that pushes away (a negative weight at the start, or anti-text).
	Negative bool `json:"negative,omitempty"`
	// EveryWindow marks anti-text, which every window applies whatever the target selects: it
	// has no win rate (see TargetStats.WinRate).
	EveryWindow bool `json:"every_window,omitempty"`
	// SimilarityMean is the mean cosine similarity of all the target's windows to the feature;
	// SimilarityLast the mean at the latest step.
	SimilarityMean float64 `json:"similarity_mean"`
	SimilarityLast float64 `json:"similarity_last"`
	similaritySum  float64
	// Models are, in an ensemble, each model's similarities by its name; SimilarityMean and
	// SimilarityLast are then the models' weighted mean.
	Models map[string]*ModelSimilarity `json:"models,omitempty"`
}

// ModelSimilarity is one model's similarities of an ensemble's windows to a feature, in the
// model's own space, as FeatureStats has the ensemble's.
type ModelSimilarity struct {
	SimilarityMean float64 `json:"similarity_mean"`
	SimilarityLast float64 `json:"similarity_last"`
	similaritySum  float64
}

// StepRecord is one step of the history: the loss and, per target, each feature's mean
// similarity and its frames (windows that applied it) at that step.
type StepRecord struct {
	Step         int                  `json:"step"`
	Loss         float64              `json:"loss"`
	Similarities map[string][]float64 `json:"similarities"`
	Frames       map[string][]int     `json:"frames"`
	// Windows is, per target, the number of windows it drew at that step.
	Windows map[string]int `json:"windows,omitempty"`
	// ModelSimilarities are, in an ensemble, each model's Similarities, by the model's name.
	ModelSimilarities map[string]map[string][]float64 `json:"model_similarities,omitempty"`
}

// newStats are the empty statistics of a run of targets; models names an ensemble's models
// (their per-model similarities are kept when there are several).
func newStats(targets []*preparedTarget, models []string) *Stats {
	s := &Stats{}
	if len(models) > 1 {
		s.Models = models
	}
	for _, t := range targets {
		ts := &TargetStats{Name: t.Name, Select: t.Select}
		for i, label := range t.labels {
			negative := t.weights[i].At(Env{Steps: 1}) < 0
			fs := &FeatureStats{Label: label, Text: t.texts[i], Negative: negative,
				EveryWindow: t.isAntiText(i)}
			for _, m := range s.Models {
				if fs.Models == nil {
					fs.Models = map[string]*ModelSimilarity{}
				}
				fs.Models[m] = &ModelSimilarity{}
			}
			ts.Features = append(ts.Features, fs)
		}
		s.Targets = append(s.Targets, ts)
	}
	return s
}

// Target returns a target's statistics by name (nil if there is none).
func (s *Stats) Target(name string) *TargetStats {
	for _, t := range s.Targets {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// record adds one step: perTarget holds, per active target, the similarities and won masks,
// and in an ensemble each model's similarities.
func (s *Stats) record(step int, loss float64, plan *stepPlan, perTarget []*tensors.Tensor) {
	rec := StepRecord{Step: step, Loss: loss, Similarities: map[string][]float64{}, Frames: map[string][]int{},
		Windows: map[string]int{}}
	per := 2
	if len(s.Models) > 0 {
		per += len(s.Models)
		rec.ModelSimilarities = map[string]map[string][]float64{}
		for _, m := range s.Models {
			rec.ModelSimilarities[m] = map[string][]float64{}
		}
	}
	k := 0 // the targets with features, in order, have per outputs each
	for _, t := range plan.targets {
		rec.Windows[t.Name] = t.BatchSize
		ts := s.Target(t.Name)
		if !t.hasFeatures() {
			ts.Windows += t.BatchSize
			continue
		}
		outs := perTarget[per*k : per*(k+1)]
		k++
		rec.Similarities[t.Name], rec.Frames[t.Name] = ts.record(outs[0], outs[1])
		for i, m := range s.Models {
			rec.ModelSimilarities[m][t.Name] = ts.recordModel(m, outs[2+i])
		}
	}
	s.History = append(s.History, rec)
}

// record adds one step's similarities [windows, features] and won masks, and returns each
// feature's mean similarity and frames at the step.
func (ts *TargetStats) record(simsOut, wonOut *tensors.Tensor) ([]float64, []int) {
	sims := tensors.MustCopyFlatData[float32](simsOut)
	won := tensors.MustCopyFlatData[float32](wonOut)
	f := len(ts.Features)
	n := len(sims) / f
	ts.Windows += n
	means, frames := make([]float64, f), make([]int, f)
	for j, fs := range ts.Features {
		sum := 0.0
		for w := range n {
			sum += float64(sims[w*f+j])
			if won[w*f+j] > 0.5 {
				fs.Frames++
				frames[j]++
			}
		}
		fs.similaritySum += sum
		fs.SimilarityLast = sum / float64(n)
		fs.Share = float64(fs.Frames) / float64(ts.Windows)
		fs.SimilarityMean = fs.similaritySum / float64(ts.Windows)
		means[j] = fs.SimilarityLast
	}
	return means, frames
}

// recordModel adds one model's similarities [windows, features] at a step (after record has
// counted the step's windows) and returns each feature's mean.
func (ts *TargetStats) recordModel(model string, simsOut *tensors.Tensor) []float64 {
	sims := tensors.MustCopyFlatData[float32](simsOut)
	f := len(ts.Features)
	n := len(sims) / f
	means := make([]float64, f)
	for j, fs := range ts.Features {
		ms := fs.Models[model]
		sum := 0.0
		for w := range n {
			sum += float64(sims[w*f+j])
		}
		ms.similaritySum += sum
		ms.SimilarityLast = sum / float64(n)
		ms.SimilarityMean = ms.similaritySum / float64(ts.Windows)
		means[j] = ms.SimilarityLast
	}
	return means
}

// clone is a copy of the statistics that the run's later steps leave as they are (the steps'
// records, which no step changes once made, are shared).
func (s *Stats) clone() *Stats {
	c := &Stats{Models: slices.Clone(s.Models), History: slices.Clone(s.History)}
	for _, t := range s.Targets {
		tc := *t
		tc.Features = make([]*FeatureStats, len(t.Features))
		for j, f := range t.Features {
			fc := *f
			if f.Models != nil {
				fc.Models = make(map[string]*ModelSimilarity, len(f.Models))
				for name, m := range f.Models {
					if m != nil { // a damaged statistics file may hold null
						mc := *m
						fc.Models[name] = &mc
					}
				}
			}
			tc.Features[j] = &fc
		}
		c.Targets = append(c.Targets, &tc)
	}
	return c
}

// restoreSums rebuilds the running sums behind the means after the stats were read from JSON.
func (s *Stats) restoreSums() {
	for _, t := range s.Targets {
		for _, f := range t.Features {
			f.similaritySum = f.SimilarityMean * float64(t.Windows)
			for _, m := range f.Models {
				m.similaritySum = m.SimilarityMean * float64(t.Windows)
			}
		}
	}
}

// WriteFrameTable writes every target's frame counts in the seed's format:
//
//	malazan               : 879 (29.46%)  mean similarity 0.3120
//
// Features applied in every window (select all, anti-text), which win nothing, say so instead of
// a count, and a target that has drawn no windows says it is not active yet. Names and labels
// with control characters (which could move the cursor or recolour a terminal) are printed
// quoted, with the characters escaped.
func (s *Stats) WriteFrameTable(w io.Writer) {
	for _, t := range s.Targets {
		if t.ConstraintsOnly() {
			fmt.Fprintf(w, "target %s (constraints only, %d windows)\n", Printable(t.Name), t.Windows)
			continue
		}
		if t.Windows == 0 {
			fmt.Fprintf(w, "target %s (select %s): not active yet, no windows\n", Printable(t.Name), t.Select)
			continue
		}
		fmt.Fprintf(w, "target %s (select %s, %d windows):\n", Printable(t.Name), t.Select, t.Windows)
		tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
		var everyWindow []*FeatureStats
		for j, f := range t.Features {
			if !t.Counts(j) { // applied in every window: no count to give
				everyWindow = append(everyWindow, f)
				continue
			}
			fmt.Fprintf(tw, "  %s\t: %d\t(%.2f%%)\tmean similarity %.4f\n", Printable(f.Label), f.Frames, 100*f.Share, f.SimilarityMean)
		}
		tw.Flush()
		for _, f := range everyWindow { // apart, so that its words do not widen the counts' column
			fmt.Fprintf(w, "  %s: in every window, mean similarity %.4f\n", Printable(f.Label), f.SimilarityMean)
		}
	}
}

// Printable is s, or s quoted with Go's escapes when it holds characters a terminal would act on
// or not show.
func Printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) >= 0 {
		return strconv.Quote(s)
	}
	return s
}
