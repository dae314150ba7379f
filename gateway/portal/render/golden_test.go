package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.eml from their builders and testdata/*.golden.json from Parse")

// testPartURL is the partURL of the tests.
func testPartURL(i int) string { return "/part/" + strconv.Itoa(i) }

// TestGolden parses each testdata/*.eml and compares the View with its
// testdata/*.golden.json.
func TestGolden(t *testing.T) {
	if *update {
		for name, raw := range fixtures(t) {
			if err := os.WriteFile(filepath.Join("testdata", name+".eml"), raw, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) < len(fixtures(t)) {
		t.Fatalf("found %d testdata/*.eml, want %d: run go test -update", len(files), len(fixtures(t)))
	}
	for _, file := range files {
		name := filepath.Base(file[:len(file)-len(".eml")])
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			v, err := Parse(raw, testPartURL)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			golden := filepath.Join("testdata", name+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Parse(%s) differs from %s:\n%s", file, golden, got)
			}
		})
	}
}
