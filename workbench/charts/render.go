package charts

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/dop251/goja"
)

// Width and Height are every chart's size in pixels: two fit side by side in a notebook.
const (
	Width  = 440
	Height = 300
)

// Chart is one chart definition (a go-echarts chart) with the name of its files. It renders
// two ways from that one definition: interactively by ECharts in the page (HTML), and as a
// static SVG by ECharts itself, run server-side in an embedded JavaScript engine (SVG). Using
// ECharts' own SSR renderer instead of redrawing the charts with a Go plotting library keeps one
// definition and makes the static image the same picture as the interactive one; the engine
// (goja, pure Go) needs no browser.
type Chart struct {
	// Name names the chart's files: loss, winrate-details, ...
	Name string
	def  definition
	// xGap, where set, pads a linear value x axis beyond its data on both sides by this share
	// of its span (ECharts' boundaryGap, which go-echarts types for category axes only), so that the
	// end points' symbols stay clear of the y axis's labels.
	xGap string
}

// definition is what Chart needs of a go-echarts chart.
type definition interface {
	Validate()
	JSON() map[string]any
}

// Option is the chart's ECharts option as JSON. json.Marshal escapes <, > and &, so the option
// is safe inside a <script> element whatever the labels hold.
func (c Chart) Option() ([]byte, error) {
	c.def.Validate()
	data, err := json.Marshal(c.def.JSON())
	if err != nil {
		return nil, err
	}
	var opt map[string]any
	if err := json.Unmarshal(data, &opt); err != nil {
		return nil, err
	}
	opt["backgroundColor"] = "#fff"
	numericIntervals(opt)
	if c.xGap != "" {
		padAxes(opt["xAxis"], c.xGap)
	}
	if legend, ok := opt["legend"].(map[string]any); ok {
		legend["itemGap"] = legendGap // go-echarts has no itemGap
	}
	return json.Marshal(opt)
}

// legendGap is the room between legend entries, in pixels: ECharts' 10 lets a long name run into
// the next entry's symbol in the SVG, whose text widths are estimates.
const legendGap = 24

// numericIntervals makes the x axes' label and tick intervals numbers, and keeps wrapped lines
// apart where every label shows. go-echarts types the intervals as strings, which ECharts reads
// wrongly: "0" as "auto", hiding labels that overlap, and "9" as a step of "9"+1. go-echarts
// has no axis-label line height, and ECharts' guess (from a CJK glyph's width) collapses
// wrapped lines in browsers without CJK fonts.
func numericIntervals(opt map[string]any) {
	axes, _ := opt["xAxis"].([]any)
	for _, a := range axes {
		axis, _ := a.(map[string]any)
		for _, key := range []string{"axisLabel", "axisTick"} {
			part, ok := axis[key].(map[string]any)
			if !ok {
				continue
			}
			text, _ := part["interval"].(string)
			if n, err := strconv.Atoi(text); err == nil {
				part["interval"] = n
			}
			if key == "axisLabel" && part["interval"] == 0 {
				part["lineHeight"] = lineHeight
			}
		}
	}
}

// padAxes pads the linear value axes among axes by gap on both sides of their data.
func padAxes(axes any, gap string) {
	list, _ := axes.([]any)
	for _, a := range list {
		if axis, _ := a.(map[string]any); axis["type"] == "value" {
			axis["scale"], axis["boundaryGap"] = true, []string{gap, gap}
		}
	}
}

// lineHeight is the line height of wrapped chart text, in pixels.
const lineHeight = 14

// ssr is one JavaScript engine with ECharts loaded, shared by every static rendering.
var ssr struct {
	sync.Mutex
	vm     *goja.Runtime
	render goja.Callable
}

// ssrScript defines render(option JSON, width, height) -> SVG text with ECharts' server-side
// renderer. Animation is off, so the timer functions ECharts looks for are never needed.
const ssrScript = `
var setTimeout = function () { return 0; }, clearTimeout = function () {};
function render(option, width, height) {
	var chart = echarts.init(null, null, {renderer: 'svg', ssr: true, width: width, height: height});
	try {
		var o = JSON.parse(option);
		o.animation = false;
		chart.setOption(o);
		return chart.renderToSVGString();
	} finally {
		chart.dispose();
	}
}`

// engine starts the shared engine on first use (about 0.3 s to load ECharts).
func engine() (goja.Callable, error) {
	if ssr.vm != nil {
		return ssr.render, nil
	}
	vm := goja.New()
	if _, err := vm.RunString(ssrScript); err != nil {
		return nil, err
	}
	if _, err := vm.RunScript("echarts.min.js", echartsJS); err != nil {
		return nil, fmt.Errorf("loading ECharts: %w", err)
	}
	render, ok := goja.AssertFunction(vm.Get("render"))
	if !ok {
		return nil, fmt.Errorf("ECharts SSR: render is not a function")
	}
	ssr.vm, ssr.render = vm, render
	return render, nil
}

// SVG is the chart as a static SVG image, drawn by ECharts without a browser.
func (c Chart) SVG() (string, error) {
	option, err := c.Option()
	if err != nil {
		return "", err
	}
	ssr.Lock()
	defer ssr.Unlock()
	render, err := engine()
	if err != nil {
		return "", err
	}
	v, err := render(goja.Undefined(), ssr.vm.ToValue(string(option)), ssr.vm.ToValue(Width), ssr.vm.ToValue(Height))
	if err != nil {
		return "", fmt.Errorf("chart %s: %w", c.Name, err)
	}
	return v.String(), nil
}

// GridSVG lays charts out two per row in one SVG image.
func GridSVG(cs []Chart) (string, error) {
	cols, rows := min(2, len(cs)), (len(cs)+1)/2
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %[1]d %[2]d">`,
		cols*Width, rows*Height)
	for i, c := range cs {
		svg, err := c.SVG()
		if err != nil {
			return "", err
		}
		at := fmt.Sprintf(`<svg x="%d" y="%d" `, (i%2)*Width, (i/2)*Height)
		b.WriteString(strings.Replace(svg, "<svg ", at, 1))
	}
	b.WriteString("</svg>")
	return b.String(), nil
}

// GridHTML is the charts two per row, interactive where the page runs scripts and ECharts is
// loaded (see Script), and the static GridSVG image everywhere else: untrusted notebooks,
// GitHub, nbviewer. The script replaces the image; svg is GridSVG(cs).
func GridHTML(cs []Chart, svg string) (string, error) {
	options := make([]json.RawMessage, len(cs))
	for i, c := range cs {
		o, err := c.Option()
		if err != nil {
			return "", err
		}
		options[i] = o
	}
	all, err := json.Marshal(options)
	if err != nil {
		return "", err
	}
	id := newID()
	return fmt.Sprintf(`<div id="%s"><img alt="charts" src="data:image/svg+xml;base64,%s"></div>`+
		`<script>(function(){var box=document.getElementById(%q),options=%s;`+
		`if(typeof echarts==="undefined"||!box)return;box.innerHTML="";`+
		`box.style.cssText="display:grid;grid-template-columns:repeat(2,%dpx)";`+
		`options.forEach(function(o){var d=document.createElement("div");d.style.width="%dpx";d.style.height="%dpx";`+
		`box.appendChild(d);echarts.init(d,null,{renderer:"svg"}).setOption(o);});})();</script>`,
		id, base64.StdEncoding.EncodeToString([]byte(svg)), id, all, Width, Width, Height), nil
}

// newID is a fresh element id for a chart grid.
func newID() string {
	return "clipwork-charts-" + rand.Text()
}
