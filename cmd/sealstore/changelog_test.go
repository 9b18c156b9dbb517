package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestChangelog checks CHANGELOG.md at the repository root: Keep a
// Changelog's shape (Unreleased first, only its section names, none
// empty), every relative link pointing at a file and heading that exist,
// every `sealstore COMMAND` it names being a command this binary has, and
// README.md linking to it.
func TestChangelog(t *testing.T) {
	t.Parallel()
	const root = "../.."
	text := readFile(t, filepath.Join(root, "CHANGELOG.md"))
	if !strings.HasPrefix(text, "# Changelog\n") {
		t.Error("CHANGELOG.md does not begin with '# Changelog'")
	}
	checkChangelogSections(t, text)
	for _, m := range regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`).FindAllStringSubmatch(text, -1) {
		target := readFile(t, filepath.Join(root, m[1]))
		if m[2] != "" && !slices.Contains(headingAnchors(target), m[2]) {
			t.Errorf("link %s%s: no such heading in %s", m[1], m[2], m[1])
		}
	}
	for _, m := range regexp.MustCompile("`sealstore ([a-z]+)").FindAllStringSubmatch(text, -1) {
		if !strings.Contains(usage, "  sealstore "+m[1]+" ") {
			t.Errorf("CHANGELOG.md names 'sealstore %s', which is no command", m[1])
		}
	}
	if !strings.Contains(readFile(t, filepath.Join(root, "README.md")), "](CHANGELOG.md)") {
		t.Error("README.md does not link to CHANGELOG.md")
	}
}

// checkChangelogSections checks the ## and ### headings of a changelog.
func checkChangelogSections(t *testing.T, text string) {
	t.Helper()
	kinds := []string{"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
	var releases []string
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "## "):
			releases = append(releases, strings.TrimPrefix(l, "## "))
		case strings.HasPrefix(l, "### "):
			if k := strings.TrimPrefix(l, "### "); !slices.Contains(kinds, k) {
				t.Errorf("section %q is not one of Keep a Changelog's %v", k, kinds)
			}
			if i+2 >= len(lines) || !strings.HasPrefix(lines[i+2], "- ") {
				t.Errorf("section %q holds no entry", l)
			}
		}
	}
	if len(releases) == 0 || releases[0] != "[Unreleased]" {
		t.Errorf("releases %q; want [Unreleased] first", releases)
	}
}

// headingAnchors are the GitHub anchors of a Markdown file's headings.
func headingAnchors(md string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllStringSubmatch(md, -1) {
		a := strings.ToLower(m[1])
		a = regexp.MustCompile(`[^a-z0-9 _-]`).ReplaceAllString(a, "")
		out = append(out, "#"+strings.ReplaceAll(a, " ", "-"))
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
