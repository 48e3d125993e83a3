package conformance

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// token is one whitespace-separated word of a script line. Double-quoted
// parts use Go string syntax and are unquoted into Val; Raw keeps the word as
// written.
type token struct {
	Raw    string
	Val    string
	Quoted bool
}

// splitLine splits a script line into tokens. A "#" that starts a word begins
// a comment that runs to the end of the line.
func splitLine(line string) ([]token, error) {
	var toks []token
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i >= len(line) || line[i] == '#' {
			return toks, nil
		}
		var raw, val strings.Builder
		quoted := false
		for i < len(line) && line[i] != ' ' && line[i] != '\t' {
			if line[i] != '"' {
				raw.WriteByte(line[i])
				val.WriteByte(line[i])
				i++
				continue
			}
			j := i + 1
			for j < len(line) && line[j] != '"' {
				if line[j] == '\\' {
					j++
				}
				j++
			}
			if j >= len(line) {
				return nil, fmt.Errorf("unterminated string starting at column %d", i+1)
			}
			s, err := strconv.Unquote(line[i : j+1])
			if err != nil {
				return nil, fmt.Errorf("bad string at column %d: %v", i+1, err)
			}
			raw.WriteString(line[i : j+1])
			val.WriteString(s)
			quoted = true
			i = j + 1
		}
		toks = append(toks, token{Raw: raw.String(), Val: val.String(), Quoted: quoted})
	}
}

// parseDuration accepts Go durations ("300ms", "1.5s").
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return d, nil
}

// parseSize accepts a byte count with an optional k/K, m/M suffix (powers of 1024).
func parseSize(s string) (int, error) {
	mult := 1
	num := s
	switch {
	case strings.HasSuffix(strings.ToLower(s), "kb"), strings.HasSuffix(strings.ToLower(s), "mb"):
		num = s[:len(s)-1]
	}
	switch strings.ToLower(num[len(num)-1:]) {
	case "k":
		mult, num = 1024, num[:len(num)-1]
	case "m":
		mult, num = 1024*1024, num[:len(num)-1]
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n * mult, nil
}

// keyVal splits "key=value" (value already unquoted).
func keyVal(t token) (key, val string, ok bool) {
	k, v, ok := strings.Cut(t.Val, "=")
	if !ok {
		return t.Val, "", false
	}
	return k, v, true
}
