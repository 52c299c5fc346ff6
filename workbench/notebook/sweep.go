package notebook

import (
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"github.com/clipwork/clipwork/workbench/charts"
	"github.com/clipwork/clipwork/workbench/report"
	"github.com/clipwork/clipwork/workbench/runstore"
	"github.com/clipwork/clipwork/workbench/store"
	"github.com/clipwork/clipwork/workbench/sweepview"
	"github.com/janpfeifer/gonb/gonbui"
)

// Sweep shows a sweep folder that clipwork sweep writes, finished or still running: each
// variant's image captioned with its values, the table of clipwork runs SWEEPDIR, and for each
// metric (similarity when none is given; see charts.ParseMetric) its chart over every varied
// key. dir may be a store (s3://bucket/prefix/SWEEP, file:///folder/SWEEP). Call it again to
// see a running sweep's progress.
func Sweep(dir string, metrics ...string) error {
	defer gonbui.Sync()
	local, remove, err := store.LocalCopy(context.Background(), dir, runstore.StateFile)
	if err != nil {
		return err
	}
	defer remove()
	view, err := sweepview.Read(local)
	if err != nil {
		return store.ShownError(err, local, dir)
	}
	if len(metrics) == 0 {
		metrics = []string{"similarity"}
	}
	var cs []charts.Chart
	for _, metric := range metrics {
		m, err := charts.ParseMetric(metric)
		if err != nil {
			return err
		}
		if err := view.CheckMetric(m); err != nil {
			return fmt.Errorf("%s: %w", metric, err)
		}
		cs = append(cs, view.Charts(m)...)
	}
	if !gonbui.IsNotebook {
		return nil
	}
	gonbui.DisplayHTML(sweepImages(view) + sweepTable(view))
	DisplayCharts(cs)
	return nil
}

// sweepImages are the variants' images (those that have one yet), captioned with their values.
func sweepImages(view *sweepview.View) string {
	var b strings.Builder
	b.WriteString(`<div style="display:flex;flex-wrap:wrap;gap:8px">`)
	for _, v := range view.Variants {
		f, err := os.Open(filepath.Join(view.Dir, v.Folder, runstore.ImageFile))
		if err != nil {
			continue
		}
		img, err := png.Decode(f)
		f.Close()
		if err == nil {
			b.WriteString(imageTag(img, strings.Join(v.Settings(view.Manifest.Axes), " "), 128))
		}
	}
	b.WriteString("</div>")
	return b.String()
}

// sweepTable is the sweep's table (see sweepview.View.Table) as HTML.
func sweepTable(view *sweepview.View) string {
	return report.HTMLTable(view.Table())
}
