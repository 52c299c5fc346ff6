package notebook

import (
	"context"
	"errors"
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
// see a running sweep's progress. A metric that is malformed or that no variant has is the
// error, after the images, the table and the other metrics' charts are shown.
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
	cs, err := sweepCharts(view, metrics)
	if gonbui.IsNotebook {
		gonbui.DisplayHTML(sweepImages(view) + sweepTable(view))
		DisplayCharts(cs)
	}
	return err
}

// sweepCharts are the charts of the metrics that the sweep has, and an error naming each one
// that is malformed or that no variant has.
func sweepCharts(view *sweepview.View, metrics []string) ([]charts.Chart, error) {
	var cs []charts.Chart
	var errs []error
	for _, metric := range metrics {
		m, err := charts.ParseMetric(metric)
		if err == nil {
			err = view.CheckMetric(m)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", metric, err))
			continue
		}
		cs = append(cs, view.Charts(m)...)
	}
	return cs, errors.Join(errs...)
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
