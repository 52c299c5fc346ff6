package clipmodel

import (
	"bytes"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
)

// TestFetchImageCachesOnce downloads an image address into the cache once, reads it from there
// afterwards (LoadImage too), caches no error page, and explains a failed download.
func TestFetchImageCachesOnce(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	var body bytes.Buffer
	png.Encode(&body, image.NewGray(image.Rect(0, 0, 3, 2)))
	requests := 0
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		switch r.URL.Path {
		case "/a.png":
			w.Write(body.Bytes())
		case "/busy.png":
			w.Write([]byte("<html>rate limited</html>"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer server.Close()
	for range 2 {
		path, err := FetchImage(server.URL + "/a.png?size=3#part")
		if err != nil {
			t.Fatal(err)
		}
		if img, err := LoadImage(path); err != nil || img.Bounds().Dx() != 3 || filepath.Ext(path) != ".png" {
			t.Errorf("cached %s: %v", path, err)
		}
	}
	if img, err := LoadImage(server.URL + "/a.png?size=3#part"); err != nil || img.Bounds().Dx() != 3 {
		t.Errorf("LoadImage of the address: %v", err)
	}
	if requests != 1 {
		t.Errorf("%d requests for one image, want 1", requests)
	}
	for range 2 {
		if _, err := FetchImage(server.URL + "/busy.png"); err == nil || !strings.Contains(err.Error(), "sent no image") {
			t.Errorf("an error page: %v", err)
		}
	}
	if requests != 3 {
		t.Errorf("%d requests after an error page twice, want 3: it must not be cached", requests)
	}
	if _, err := FetchImage(server.URL + "/missing.png"); err == nil || !strings.Contains(err.Error(), "404") ||
		!strings.Contains(err.Error(), "give its file instead") {
		t.Errorf("a missing image: %v", err)
	}
}

// TestLoadImageReadsBMP reads a BMP file, one of Pillow's formats CLIPig accepts.
func TestLoadImageReadsBMP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.bmp")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	bmp.Encode(f, image.NewRGBA(image.Rect(0, 0, 5, 4)))
	f.Close()
	if img, err := LoadImage(path); err != nil || img.Bounds().Dx() != 5 {
		t.Errorf("BMP: %v", err)
	}
}
