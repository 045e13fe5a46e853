// Package benchdoc writes benchmark figures into docs/benchmarks.md: each
// benchmark owns one "## " section (or a marked block inside one) and
// rewrites only that, leaving the others as they are.
package benchdoc

import (
	"os"
	"strings"
)

// header starts the file when a benchmark creates it.
const header = "# Benchmarks\n\nEach section is written by its benchmark; numbers are ratios against a reference tool measured in the same run.\n"

// WriteSection replaces the section that starts with heading (a "## " line)
// up to the next "## " heading in the file at path, or appends it; the file
// is created when missing.
func WriteSection(path, heading, section string) error {
	text, err := read(path)
	if err != nil {
		return err
	}
	section = strings.TrimRight(section, "\n") + "\n"
	start, end := find(text, heading)
	if start < 0 {
		text = strings.TrimRight(text, "\n") + "\n\n" + section
	} else {
		if end < len(text) {
			section += "\n"
		}
		text = text[:start] + section + text[end:]
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// WriteBlock replaces the part of the section under heading between
// "<!-- name -->" and "<!-- /name -->" with body, adding the section or the
// block when missing; the rest of the section is left alone, so several
// benchmarks can share one section.
func WriteBlock(path, heading, name, body string) error {
	text, err := read(path)
	if err != nil {
		return err
	}
	open, close := "<!-- "+name+" -->", "<!-- /"+name+" -->"
	block := open + "\n" + strings.TrimSpace(body) + "\n" + close
	start, end := find(text, heading)
	if start < 0 {
		text = strings.TrimRight(text, "\n") + "\n\n" + heading + "\n\n" + block + "\n"
		return os.WriteFile(path, []byte(text), 0o644)
	}
	sec := text[start:end]
	if i, j := strings.Index(sec, open), strings.Index(sec, close); i >= 0 && j > i {
		sec = sec[:i] + block + sec[j+len(close):]
	} else {
		sec = strings.TrimRight(sec, "\n") + "\n\n" + block + "\n\n"
	}
	return os.WriteFile(path, []byte(text[:start]+sec+text[end:]), 0o644)
}

func read(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return "", err
	}
	if len(raw) == 0 {
		return header, nil
	}
	return string(raw), nil
}

// find returns where the section under heading starts and ends (the start
// of the next "## " line, or the end of text); start is -1 when absent.
func find(text, heading string) (start, end int) {
	start = strings.Index(text, heading+"\n")
	if start < 0 {
		return -1, -1
	}
	end = len(text)
	if i := strings.Index(text[start+len(heading):], "\n## "); i >= 0 {
		end = start + len(heading) + i + 1
	}
	return start, end
}
