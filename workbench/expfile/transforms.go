package expfile

import (
	"github.com/clipwork/clipwork/workbench"
	"go.yaml.in/yaml/v3"
)

// Geometry transforms set the target's window placement; CLIPig's names map onto it.
var geometryKinds = []string{"window", "resize", "random_rotate", "random_scale", "random_shift",
	"random_translate", "perspective", "random_perspective", "center_crop", "random_crop", "pad", "repeat"}

var pixelKinds = []string{workbench.TransformBlur, workbench.TransformNoise, workbench.TransformGreyNoise,
	workbench.TransformMul, workbench.TransformAdd, workbench.TransformMean, workbench.TransformSaturation,
	workbench.TransformContrast, workbench.TransformEdge, workbench.TransformClamp}

func (d *decoder) transform(n *yaml.Node, t *workbench.Target) {
	kind, v, ok := d.singleKey(n, "transform", append(append([]string{}, pixelKinds...), geometryKinds...))
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
		w.Pad = d.str(v, kind)
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

// pixelTransform reads `blur: 1`, `blur: [0.5, 2]` or `blur: {sigma: [0.5, 2], start: 10%}`.
func (d *decoder) pixelTransform(kind string, n *yaml.Node) workbench.Transform {
	tr := workbench.Transform{Kind: kind}
	main := map[string]string{
		workbench.TransformBlur: "sigma", workbench.TransformNoise: "std", workbench.TransformGreyNoise: "std",
		workbench.TransformClamp: "range",
	}[kind]
	if main == "" {
		main = "amount"
	}
	setMain := func(v *yaml.Node) {
		if main == "amount" {
			for _, item := range d.items(v, kind) {
				tr.Amount = append(tr.Amount, d.value(item, kind))
			}
			if len(tr.Amount) != 1 && len(tr.Amount) != 3 {
				d.errorf(v, "%s needs one value or three (R G B), got %d", kind, len(tr.Amount))
			}
			return
		}
		tr.Range = d.valueRange(v, kind+" "+main)
	}
	if n.Kind != yaml.MappingNode {
		setMain(n)
		return tr
	}
	d.mapping(n, kind, []string{main, "start", "end"}, func(key string, v *yaml.Node) {
		switch key {
		case "start":
			tr.Period.Start = d.moment(v, key)
		case "end":
			tr.Period.End = d.moment(v, key)
		default:
			setMain(v)
		}
	})
	return tr
}

var constraintKinds = []string{workbench.ConstraintBlur, workbench.ConstraintTV, workbench.ConstraintSaturation,
	workbench.ConstraintMean, workbench.ConstraintStd, workbench.ConstraintContrast, workbench.ConstraintEdgeMean,
	workbench.ConstraintBorder, workbench.ConstraintRange}

// constraint reads `- saturation: {below: 0.4, weight: 2}`.
func (d *decoder) constraint(n *yaml.Node) workbench.Constraint {
	kind, v, ok := d.singleKey(n, "constraint", constraintKinds)
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
			c.Loss = d.str(v, key)
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
