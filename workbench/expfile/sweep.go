package expfile

import (
	"strconv"
	"strings"

	"github.com/clipwork/clipwork/workbench/sweep"
	"go.yaml.in/yaml/v3"
)

// Sweep is an experiment file's sweep: (clipwork's own key; CLIPig files have none): the keys
// it varies, in the file's order, as clipwork sweep's --vary flags would give them.
//
//	sweep:
//	  vary:
//	    seed: 1..4                               # an integer range
//	    learnrate: [0.02, 0.04]                  # a list of values
//	    targets.details.features.0: [a red circle, "a red circle, glowing"]
//	  zip: false                                 # true: the i-th values together
type Sweep struct {
	Axes []sweep.Axis
	Zip  bool
	// Position is the file and line of sweep: (or the setting giving it), for messages that send
	// the reader there.
	Position string
}

var sweepKeys = []string{"vary", "zip"}

// sweep reads the sweep: mapping n, whose key is key; the varied keys themselves are checked
// when each variant's experiment is loaded with its values.
func (d *decoder) sweep(key, n *yaml.Node) *Sweep {
	s := &Sweep{Position: position(d.files[key], key.Line, strconv.Itoa(key.Line))}
	hasVary := false
	d.mapping(n, "sweep", sweepKeys, func(key string, v *yaml.Node) {
		switch key {
		case "vary":
			s.Axes, hasVary = d.sweepAxes(v), len(v.Content) > 0
		case "zip":
			s.Zip = d.boolean(v, "sweep.zip")
		}
	})
	if !hasVary && n.Kind == yaml.MappingNode {
		d.errorf(n, "sweep: needs vary: with at least one key, e.g. sweep: {vary: {seed: 1..4}}")
	}
	d.checkSweepShape(n, s)
	return s
}

// sweepAxes reads sweep.vary: a mapping from keys (as --set names them) to a value, an integer
// range A..B or a list of values.
func (d *decoder) sweepAxes(n *yaml.Node) []sweep.Axis {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "sweep.vary must map keys to values, e.g. vary: {seed: 1..4, learnrate: [0.02, 0.04]}, got %s", describe(n))
		return nil
	}
	var axes []sweep.Axis
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		if a, ok := d.sweepAxis(key, value); ok {
			axes = append(axes, a)
		}
	}
	return axes
}

func (d *decoder) sweepAxis(key, value *yaml.Node) (sweep.Axis, bool) {
	a := sweep.Axis{Key: key.Value}
	what := "sweep.vary." + key.Value
	if strings.TrimSpace(key.Value) == "" {
		d.errorf(key, "sweep.vary has an empty key: name a key as --set does, e.g. seed: 1..4")
		return a, false
	}
	if err := sweep.CheckKey(key.Value); err != nil {
		d.errorf(key, "sweep.vary: %v", err)
		return a, false
	}
	items := []*yaml.Node{value}
	if value.Kind == yaml.SequenceNode {
		items = value.Content
	}
	if len(items) == 0 {
		d.errorf(value, "%s is an empty list: give at least one value, or remove the key", what)
		return a, false
	}
	for _, item := range items {
		v, ok := d.scalar(item, what)
		if !ok {
			return a, false
		}
		if v == "" || item.Tag == "!!null" {
			d.errorf(item, "%s has an empty value: write one, e.g. %s: [1, 2]", what, key.Value)
			return a, false
		}
		values, err := sweep.ExpandValue(v)
		if err != nil {
			d.errorf(item, "%s: %v", what, err)
			return a, false
		}
		a.Values = append(a.Values, values...)
	}
	if err := a.CheckDistinct(); err != nil {
		d.errorf(value, "sweep.vary.%v", err)
		return a, false
	}
	return a, true
}

// checkSweepShape refuses here, where the message can point at the file, what sweep.Expand
// would refuse for its shape (see sweep.CheckShape).
func (d *decoder) checkSweepShape(n *yaml.Node, s *Sweep) {
	if err := sweep.CheckShape(s.Axes, s.Zip); err != nil {
		d.errorf(n, "%v", err)
	}
}
