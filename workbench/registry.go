package workbench

import "slices"

// lookup finds the entry of a registry (TransformKinds, ConstraintKinds, ...) with a key.
func lookup[K any](kinds []K, key string, keyOf func(*K) string) (*K, bool) {
	i := slices.IndexFunc(kinds, func(k K) bool { return keyOf(&k) == key })
	if i < 0 {
		return nil, false
	}
	return &kinds[i], true
}

// keys lists a registry's keys in order.
func keys[K any](kinds []K, keyOf func(*K) string) []string {
	out := make([]string, len(kinds))
	for i := range kinds {
		out[i] = keyOf(&kinds[i])
	}
	return out
}

// fillDefaults fills the further parameters left unset with their defaults (nil when required).
func fillDefaults(extra [][]Value, params []Param) [][]Value {
	for i, p := range params {
		if i == len(extra) {
			extra = append(extra, nil)
		}
		if extra[i] == nil {
			extra[i] = constants(p.Default)
		}
	}
	return extra
}
