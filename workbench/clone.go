package workbench

import "reflect"

// clone is a deep copy of the experiment: its slices, maps and pointers are its own, so that a
// run keeps what it was given whatever its caller changes later, and filling defaults leaves the
// caller's copy as it was. It copies by reflection because the experiment nests slices of
// targets, features, transforms and values several levels deep, and a copy written field by
// field would miss the fields added later. Shared still: what a struct does not export (a
// Value's function) and what an interface holds, which nothing changes; the experiment holds no
// cycles, which the copy does not guard against.
func (e Experiment) clone() Experiment {
	out := reflect.New(reflect.TypeFor[Experiment]()).Elem()
	deepCopy(out, reflect.ValueOf(e))
	return out.Interface().(Experiment)
}

// deepCopy sets dst, settable and of src's type, to a copy of src that shares no slice, map or
// pointer with it, but in the fields that a struct does not export and behind interfaces.
func deepCopy(dst, src reflect.Value) {
	switch src.Kind() {
	case reflect.Struct:
		dst.Set(src)
		for i := range src.NumField() {
			if dst.Field(i).CanSet() {
				deepCopy(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.MakeSlice(src.Type(), src.Len(), src.Len()))
		for i := range src.Len() {
			deepCopy(dst.Index(i), src.Index(i))
		}
	case reflect.Pointer:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.New(src.Type().Elem()))
		deepCopy(dst.Elem(), src.Elem())
	case reflect.Map:
		if src.IsNil() {
			return
		}
		dst.Set(reflect.MakeMapWithSize(src.Type(), src.Len()))
		for _, key := range src.MapKeys() {
			value := reflect.New(src.Type().Elem()).Elem()
			deepCopy(value, src.MapIndex(key))
			dst.SetMapIndex(key, value)
		}
	case reflect.Array:
		for i := range src.Len() {
			deepCopy(dst.Index(i), src.Index(i))
		}
	default:
		dst.Set(src)
	}
}
