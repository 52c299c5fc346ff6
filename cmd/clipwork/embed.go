package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/clipwork/clipwork/clipmodel"
)

// embedOutput is the JSON that clipwork embed --json prints.
type embedOutput struct {
	Texts          []embeddedText  `json:"texts"`
	Images         []embeddedImage `json:"images"`
	LogitsPerImage [][]float64     `json:"logits_per_image"`
}

type embeddedText struct {
	Text      string    `json:"text"`
	Tokens    []int     `json:"tokens"`
	Embedding []float32 `json:"embedding"`
}

type embeddedImage struct {
	File      string    `json:"file"`
	Embedding []float32 `json:"embedding"`
}

func runEmbed(args []string, stdout io.Writer) error {
	fs := newFlags("embed", stdout)
	modelName := fs.String("model", clipmodel.DefaultName, "model: the embedded default, a HuggingFace or open_clip folder or hub id, an OpenAI .pt file or name (RN50, ViT-B/32), or random:ARCH")
	var texts, images repeated
	fs.Var(&texts, "text", "a text to embed (repeatable)")
	fs.Var(&images, "image", "an image file to embed (PNG, JPEG, GIF, BMP, TIFF or WebP; repeatable)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	if len(texts)+len(images) == 0 {
		return errors.New("nothing to embed: give --text and/or --image")
	}
	out, err := embed(*modelName, texts, images)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		return enc.Encode(out)
	}
	printEmbedTable(stdout, out)
	return nil
}

func embed(modelName string, texts, images []string) (*embedOutput, error) {
	m, err := clipmodel.Load(modelName)
	if err != nil {
		return nil, err
	}
	out := &embedOutput{Texts: []embeddedText{}, Images: []embeddedImage{}, LogitsPerImage: [][]float64{}}
	embedded, err := m.EmbedTexts(texts)
	if err != nil {
		return nil, err
	}
	var textVectors [][]float32
	for _, e := range embedded {
		out.Texts = append(out.Texts, embeddedText{e.Text, e.Tokens, e.Embedding})
		textVectors = append(textVectors, e.Embedding)
		noteIfCut("text", e.Text, m.Tokenizer)
	}
	imageVectors, err := m.EmbedImageFiles(images)
	if err != nil {
		return nil, err
	}
	for i, v := range imageVectors {
		out.Images = append(out.Images, embeddedImage{images[i], v})
	}
	scale, err := m.LogitScale()
	if err != nil {
		return nil, err
	}
	out.LogitsPerImage = clipmodel.LogitsPerImage(imageVectors, textVectors, scale)
	return out, nil
}

func printEmbedTable(w io.Writer, out *embedOutput) {
	for _, t := range out.Texts {
		fmt.Fprintf(w, "text %q: %d tokens %v, embedding of %d\n", t.Text, len(t.Tokens), t.Tokens, len(t.Embedding))
	}
	for _, img := range out.Images {
		fmt.Fprintf(w, "image %s: embedding of %d\n", img.File, len(img.Embedding))
	}
	if len(out.Images) == 0 || len(out.Texts) == 0 {
		return
	}
	fmt.Fprintln(w, "\ncosine similarity (logits_per_image):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "image")
	for _, t := range out.Texts {
		fmt.Fprintf(tw, "\t%s", t.Text)
	}
	fmt.Fprintln(tw)
	for i, img := range out.Images {
		fmt.Fprint(tw, img.File)
		for j, t := range out.Texts {
			fmt.Fprintf(tw, "\t%.4f (%.2f)", clipmodel.Cosine(img.Embedding, t.Embedding), out.LogitsPerImage[i][j])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}
