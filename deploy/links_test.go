package deploy_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// docFiles lists the repository's Markdown files and the deploy artefacts
// people read (rule and dashboard descriptions, manifest comments).
func docFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" && !strings.Contains(path, "deploy")) {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(repoRoot, path)
		switch {
		case d.IsDir():
		case strings.HasSuffix(path, ".md"),
			strings.HasPrefix(rel, "deploy"+string(filepath.Separator)) && !strings.HasSuffix(path, ".go"),
			strings.HasPrefix(rel, "examples"+string(filepath.Separator)) && strings.HasSuffix(path, ".yaml"):
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// slug is the anchor GitHub gives a heading.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// anchors returns the heading anchors of a Markdown text, outside code.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	fenced := false
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "```") {
			fenced = !fenced
			continue
		}
		if h, ok := strings.CutPrefix(l, "#"); ok && !fenced {
			out[slug(strings.TrimLeft(h, "#"))] = true
		}
	}
	return out
}

var (
	mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	// A path in backquotes that starts at a directory of the repository.
	codePath = regexp.MustCompile("`([A-Za-z0-9_.-]+/[A-Za-z0-9_./-]*)`")
	// A repository path in a comment or description of a deploy artefact.
	artefactPath = regexp.MustCompile(`\b(?:docs|deploy|examples)/[A-Za-z0-9_./-]*[A-Za-z0-9_]`)
)

// generated reports whether p is under a directory .gitignore keeps out
// of the repository (/bench/results/): output that a command makes.
func generated(t *testing.T, p string) bool {
	for _, l := range strings.Split(readText(t, filepath.Join(repoRoot, ".gitignore")), "\n") {
		if d, ok := strings.CutPrefix(strings.TrimSpace(l), "/"); ok && strings.HasSuffix(d, "/") && strings.HasPrefix(p+"/", d) {
			return true
		}
	}
	return false
}

// TestDocsReferToWhatExists: every link and backquoted repository path
// (except one the text says was deleted, or under a gitignored output
// directory) in the docs and deploy artefacts names something the
// repository has (a link's #anchor included), and none refers to a
// specification outside the repository: the docs stand alone.
func TestDocsReferToWhatExists(t *testing.T) {
	files := docFiles(t)
	if len(files) < 6 {
		t.Fatalf("found only %v", files)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	for _, f := range files {
		text := readText(t, f)
		rel, _ := filepath.Rel(repoRoot, f)
		dir := filepath.Dir(f)
		// The dashboard's JSON escapes §.
		if s := strings.ReplaceAll(text, `\u00a7`, "§"); strings.Contains(s, "SPEC §") || strings.Contains(s, "SPEC.md") {
			t.Errorf("%s refers to a SPEC the repository does not have", rel)
		}
		if !strings.HasSuffix(f, ".md") {
			for _, p := range artefactPath.FindAllString(text, -1) {
				if !exists(filepath.Join(repoRoot, p)) {
					t.Errorf("%s names %s, which does not exist", rel, p)
				}
			}
			continue
		}
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			file := f
			if path != "" {
				file = filepath.Join(dir, path)
				if !exists(file) {
					t.Errorf("%s links %s, which does not exist", rel, target)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(file, ".md") && !anchors(readText(t, file))[anchor] {
				t.Errorf("%s links %s: no heading with anchor #%s there", rel, target, anchor)
			}
		}
		for _, loc := range codePath.FindAllStringSubmatchIndex(text, -1) {
			m := []string{text[loc[0]:loc[1]], text[loc[2]:loc[3]]}
			if after := text[loc[1]:min(loc[1]+20, len(text))]; strings.Contains(after, "deleted") {
				continue // history: a file the text itself says is gone
			}
			p := strings.TrimSuffix(m[1], "/")
			top, _, _ := strings.Cut(p, "/")
			if top == "" || top == "." || top == ".." || !exists(filepath.Join(repoRoot, top)) {
				continue // not a path in the repository (/etc/…, a URL path, a MIME type)
			}
			if !exists(filepath.Join(repoRoot, p)) && !generated(t, p) {
				t.Errorf("%s names `%s`, which does not exist", rel, m[1])
			}
		}
	}
}
