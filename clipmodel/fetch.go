package clipmodel

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// maxFetchedImageBytes bounds an image downloaded by FetchImage.
const maxFetchedImageBytes = 256 << 20

// IsURL tells whether an image name is an http or https address, which CLIPig downloads.
func IsURL(name string) bool {
	return strings.HasPrefix(name, "http://") || strings.HasPrefix(name, "https://")
}

// FetchImage downloads an image address into clipwork's cache (images/ in the user's cache
// folder, named by the address's hash), once, as CLIPig caches the images it downloads, and
// returns the cached file's path. The file is written whole or not at all.
func FetchImage(url string) (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("image %s: no cache folder to download it into: %w", url, err)
	}
	sum := sha256.Sum256([]byte(url))
	cached := filepath.Join(dir, "clipwork", "images", hex.EncodeToString(sum[:16])+path.Ext(strings.SplitN(url, "?", 2)[0]))
	if _, err := os.Stat(cached); err == nil {
		return cached, nil
	}
	if err := download(url, cached); err != nil {
		return "", fmt.Errorf("image %s: %w (without network, download it elsewhere and give its file instead)", url, err)
	}
	return cached, nil
}

// download writes url's body to dst through a temporary file beside it.
func download(url, dst string) error {
	client := &http.Client{Timeout: 2 * time.Minute}
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the server answered %s", resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".download-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, io.LimitReader(resp.Body, maxFetchedImageBytes+1))
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return err
	}
	if n > maxFetchedImageBytes {
		return fmt.Errorf("more than %d MB", maxFetchedImageBytes>>20)
	}
	return os.Rename(tmp.Name(), dst)
}
