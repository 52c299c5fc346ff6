package store

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// LocalCopy makes location readable as a plain folder: a store URL (s3://..., file://...) is
// downloaded, but for the files named in except (e.g. runstore.StateFile, which views never
// read), into a new temporary folder named as the URL's last element, which remove deletes; a
// plain folder is returned as it is, with a remove that does nothing. A URL under which nothing
// is stored is an error.
func LocalCopy(ctx context.Context, location string, except ...string) (dir string, remove func(), err error) {
	if !IsURL(location) {
		return location, func() {}, nil
	}
	s, err := Open(ctx, location)
	if err != nil {
		return "", nil, err
	}
	defer s.Close()
	tmp, err := os.MkdirTemp("", "clipwork-copy-")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(tmp) }
	dir = filepath.Join(tmp, lastElement(location))
	n, err := s.Fetch(ctx, "", dir, except...)
	if err == nil && n == 0 {
		err = fmt.Errorf("%s: nothing is stored there: check the bucket and prefix", location)
	}
	if err != nil {
		remove()
		return "", nil, err
	}
	return dir, remove, nil
}

// LocalCopies is LocalCopy of each location; remove deletes every copy.
func LocalCopies(ctx context.Context, locations []string, except ...string) (dirs []string, remove func(), err error) {
	var removes []func()
	remove = func() {
		for _, r := range removes {
			r()
		}
	}
	for _, location := range locations {
		dir, r, err := LocalCopy(ctx, location, except...)
		if err != nil {
			remove()
			return nil, nil, err
		}
		dirs, removes = append(dirs, dir), append(removes, r)
	}
	return dirs, remove, nil
}

// lastElement is the last element of a store URL's path, or its bucket's name.
func lastElement(location string) string {
	u, err := url.Parse(location)
	if err != nil {
		return "store"
	}
	if base := path.Base(u.Path); base != "/" && base != "." {
		return base
	}
	if u.Host != "" {
		return u.Host
	}
	return "store"
}

// Split splits a store URL into the URL of its parent folder and its last element.
func Split(location string) (parent, name string) {
	u, err := url.Parse(location)
	if err != nil || path.Base(u.Path) == "/" || path.Base(u.Path) == "." {
		return location, ""
	}
	name = path.Base(u.Path)
	u.Path = path.Dir(path.Clean(u.Path))
	return u.String(), name
}

// Join is location/name: a folder's path, or a store URL's (its query kept).
func Join(location, name string) string {
	if !IsURL(location) {
		return filepath.Join(location, name)
	}
	u, err := url.Parse(location)
	if err != nil {
		return location + "/" + name
	}
	u.Path = path.Join("/", u.Path, name)
	return u.String()
}

// ShownError is err with the path local, a local copy or working folder, written in its message
// as location, the store URL that the user gave; it still matches what err matches (errors.Is).
func ShownError(err error, local, location string) error {
	if err == nil || local == location {
		return err
	}
	return &shownError{msg: strings.ReplaceAll(err.Error(), local, location), err: err}
}

type shownError struct {
	msg string
	err error
}

func (e *shownError) Error() string { return e.msg }
func (e *shownError) Unwrap() error { return e.err }
