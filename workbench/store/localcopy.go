package store

import (
	"context"
	"fmt"
	"os"
)

// LocalCopy makes location readable as a plain folder: a store URL (s3://..., file://...) is
// downloaded into a new temporary folder, which remove deletes; a plain folder is returned as it
// is, with a remove that does nothing. A URL under which nothing is stored is an error.
func LocalCopy(ctx context.Context, location string) (dir string, remove func(), err error) {
	if !IsURL(location) {
		return location, func() {}, nil
	}
	s, err := Open(ctx, location)
	if err != nil {
		return "", nil, err
	}
	defer s.Close()
	dir, err = os.MkdirTemp("", "clipwork-copy-")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.RemoveAll(dir) }
	n, err := s.Fetch(ctx, "", dir)
	if err == nil && n == 0 {
		err = fmt.Errorf("%s: nothing is stored there: check the bucket and prefix", location)
	}
	if err != nil {
		remove()
		return "", nil, err
	}
	return dir, remove, nil
}
