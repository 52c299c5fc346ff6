package expfile

import (
	"strings"
	"unicode"
)

// RunName is the name for a run of the experiment: its name, else its first target's first
// text as a slug ("a red circle" -> "a-red-circle"), else fallback (such as the file's name).
func (f *File) RunName(fallback string) string {
	if name := Slug(f.Name); name != "" {
		return name
	}
	for _, t := range f.Experiment.Targets {
		for _, feature := range t.Features {
			if name := Slug(feature.Text); name != "" {
				return name
			}
		}
		break
	}
	return fallback
}

// Slug turns text into a folder name: lower-case letters and digits joined by dashes, at most
// 40 characters, cut at a word's end.
func Slug(text string) string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	slug := ""
	for _, w := range words {
		if len(slug)+1+len(w) > 40 && slug != "" {
			break
		}
		if slug != "" {
			slug += "-"
		}
		slug += w
	}
	if r := []rune(slug); len(r) > 40 {
		slug = string(r[:40])
	}
	return slug
}
