package expfile

import (
	"github.com/clipwork/clipwork/workbench"
	"go.yaml.in/yaml/v3"
)

// Geometry transforms set the target's window placement; CLIPig's names map onto it.
var geometryKinds = []string{"window", "resize", "random_rotate", "random_scale", "random_shift",
	"random_translate", "perspective", "random_perspective", "center_crop", "random_crop", "pad", "repeat"}

func (d *decoder) transform(n *yaml.Node, t *workbench.Target) {
	kind, v, ok := d.singleKey(n, "transform", append(workbench.TransformKeys(), geometryKinds...))
	if !ok {
		return
	}
	w := &t.Window
	switch kind {
	case "window":
		d.window(v, w)
	case "resize":
		d.number(v, kind) // CLIPig's target size: the whole image scaled into the window
		w.FullFrame = true
	case "random_rotate":
		if v.Kind == yaml.MappingNode {
			d.mapping(v, kind, []string{"degree", "center"}, func(key string, v *yaml.Node) {
				if key == "degree" {
					w.Rotate = d.numberRange(v, key)
				} else {
					w.CenterX = d.numberRange(v, key)
					w.CenterY = w.CenterX
				}
			})
		} else {
			w.Rotate = d.numberRange(v, kind)
		}
	case "random_scale":
		w.Scale = d.numberRange(v, kind)
	case "random_shift", "random_translate":
		w.CenterX = d.numberRange(v, kind)
		w.CenterY = w.CenterX
	case "perspective", "random_perspective":
		w.Perspective = d.number(v, kind)
	case "center_crop":
		w.Size = float64(d.integer(v, kind, 1))
		w.CenterX, w.CenterY = [2]float64{.5, .5}, [2]float64{.5, .5}
	case "random_crop":
		w.Size = float64(d.integer(v, kind, 1))
	case "pad":
		w.Pad = d.choice(v, kind, workbench.PadModes)
	case "repeat":
		times := float64(d.integer(v, kind, 1))
		w.FullFrame, w.Scale, w.Pad = true, [2]float64{times, times}, workbench.PadWrap
	default:
		t.Transforms = append(t.Transforms, d.pixelTransform(kind, v))
	}
}

func (d *decoder) window(n *yaml.Node, w *workbench.Window) {
	keys := []string{"size", "full_frame", "scale", "rotate", "center_x", "center_y", "perspective", "pad"}
	d.mapping(n, "window", keys, func(key string, v *yaml.Node) {
		switch key {
		case "size":
			w.Size = d.number(v, key)
		case "full_frame":
			w.FullFrame = d.boolean(v, key)
		case "scale":
			w.Scale = d.numberRange(v, key)
		case "rotate":
			w.Rotate = d.numberRange(v, key)
		case "center_x":
			w.CenterX = d.numberRange(v, key)
		case "center_y":
			w.CenterY = d.numberRange(v, key)
		case "perspective":
			w.Perspective = d.number(v, key)
		case "pad":
			w.Pad = d.str(v, key)
		}
	})
}

// pixelTransform reads a transform of TransformKinds as `blur: 1`, `blur: [0.5, 2]` or
// `blur: {sigma: [0.5, 2], start: 10%}`.
func (d *decoder) pixelTransform(key string, n *yaml.Node) workbench.Transform {
	kind, _ := workbench.LookupTransform(key)
	tr := workbench.Transform{Kind: key}
	setValues := func(v *yaml.Node) {
		items := d.items(v, key+" "+kind.Param)
		if len(items) != 1 && len(items) != kind.Values {
			d.errorf(v, "%s %s needs one value or %d, got %d", key, kind.Param, kind.Values, len(items))
			return
		}
		for _, item := range items {
			tr.Values = append(tr.Values, d.value(item, key+" "+kind.Param))
		}
	}
	if n.Kind != yaml.MappingNode {
		setValues(n)
		return tr
	}
	d.mapping(n, key, []string{kind.Param, "start", "end"}, func(k string, v *yaml.Node) {
		switch k {
		case "start":
			tr.Period.Start = d.moment(v, k)
		case "end":
			tr.Period.End = d.moment(v, k)
		default:
			setValues(v)
		}
	})
	if len(tr.Values) == 0 {
		d.errorf(n, "%s needs its %s", key, kind.Param)
	}
	return tr
}

// constraint reads `- saturation: {below: 0.4, weight: 2}`.
func (d *decoder) constraint(n *yaml.Node) workbench.Constraint {
	kind, v, ok := d.singleKey(n, "constraint", workbench.ConstraintKeys())
	c := workbench.Constraint{Kind: kind}
	if !ok {
		return c
	}
	keys := []string{"weight", "start", "end", "above", "below", "target", "loss", "on", "size"}
	d.mapping(v, "constraint "+kind, keys, func(key string, v *yaml.Node) {
		switch key {
		case "weight":
			c.Weight = d.value(v, key)
		case "start":
			c.Period.Start = d.moment(v, key)
		case "end":
			c.Period.End = d.moment(v, key)
		case "above":
			c.Above = d.value(v, key)
		case "below":
			c.Below = d.value(v, key)
		case "target":
			c.Target = d.value(v, key)
		case "loss":
			c.Loss = d.choice(v, key, workbench.ConstraintLosses)
		case "on":
			switch on := d.str(v, key); on {
			case "image":
				c.OnImage = true
			case "windows":
			default:
				d.errorf(v, "on %q: use image or windows", on)
			}
		case "size":
			c.Size = d.integer(v, key, 1)
		}
	})
	return c
}
