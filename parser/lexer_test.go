package parser

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// lexAll runs the lexer over src and describes every statement as
// "word word ... TERM@line:col", each word as RAW=VALUE@line:col+offset-endline:endcol,
// and every diagnostic as "! line:col message".
func lexAll(src string) []string {
	f := &File{Name: "t.conf", Src: []byte(src)}
	var out []string
	lx := newLexer(f, src, func(p Pos, msg string) {
		out = append(out, fmt.Sprintf("! %d:%d %s", p.Line, p.Col, msg))
	})
	for {
		t := lx.next()
		var b strings.Builder
		for _, a := range lx.args {
			fmt.Fprintf(&b, "%s=%s@%d:%d+%d-%d:%d ", a.Raw, a.Value, a.Pos.Line, a.Pos.Col, a.Pos.Offset, a.End.Line, a.End.Col)
		}
		name := [...]string{";", "{", "}", "EOF"}[t]
		fmt.Fprintf(&b, "%s@%d:%d", name, lx.termPos.Line, lx.termPos.Col)
		out = append(out, b.String())
		if t == termEOF {
			break
		}
	}
	for _, c := range lx.comments {
		out = append(out, fmt.Sprintf("# %q@%d:%d-%d:%d", c.Text, c.Pos.Line, c.Pos.Col, c.End.Line, c.End.Col))
	}
	return out
}

func TestLexer(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"bare words", "a bc;", []string{"a=a@1:1+0-1:2 bc=bc@1:3+2-1:5 ;@1:5", "EOF@1:6"}},
		{"tabs and spaces before semicolon", "a\tb  ;\n", []string{"a=a@1:1+0-1:2 b=b@1:3+2-1:4 ;@1:6", "EOF@2:1"}},
		{"double quotes keep spaces", `x "a b";`, []string{`x=x@1:1+0-1:2 "a b"=a b@1:3+2-1:8 ;@1:8`, "EOF@1:9"}},
		{"single quotes", `x 'a;b{c}';`, []string{`x=x@1:1+0-1:2 'a;b{c}'=a;b{c}@1:3+2-1:11 ;@1:11`, "EOF@1:12"}},
		{"empty quotes", `x "" '';`, []string{`x=x@1:1+0-1:2 ""=@1:3+2-1:5 ''=@1:6+5-1:8 ;@1:8`, "EOF@1:9"}},
		{"escaped double quote", `x "a \"q\" b";`, []string{`x=x@1:1+0-1:2 "a \"q\" b"=a "q" b@1:3+2-1:14 ;@1:14`, "EOF@1:15"}},
		{"escaped single quote", `x 'it\'s';`, []string{`x=x@1:1+0-1:2 'it\'s'=it's@1:3+2-1:10 ;@1:10`, "EOF@1:11"}},
		{"escaped backslash before closing quote", `x "a\\";`, []string{`x=x@1:1+0-1:2 "a\\"=a\@1:3+2-1:8 ;@1:8`, "EOF@1:9"}},
		{"control escapes", `x "t\tr\rn\n";`, []string{"x=x@1:1+0-1:2 \"t\\tr\\rn\\n\"=t\tr\rn\n@1:3+2-1:14 ;@1:14", "EOF@1:15"}},
		{"other backslashes kept", `x "a\d\$" b\d;`, []string{`x=x@1:1+0-1:2 "a\d\$"=a\d\$@1:3+2-1:10 b\d=b\d@1:11+10-1:14 ;@1:14`, "EOF@1:15"}},
		{"backslash escapes separators in bare words", `set $a x\;y\ z;`, []string{`set=set@1:1+0-1:4 $a=$a@1:5+4-1:7 x\;y\ z=x\;y\ z@1:8+7-1:15 ;@1:15`, "EOF@1:16"}},
		{"backslash at word start", `x \{a;`, []string{`x=x@1:1+0-1:2 \{a=\{a@1:3+2-1:6 ;@1:6`, "EOF@1:7"}},
		{"variable braces do not open a block", "x a${b}c ${d};", []string{"x=x@1:1+0-1:2 a${b}c=a${b}c@1:3+2-1:9 ${d}=${d}@1:10+9-1:14 ;@1:14", "EOF@1:15"}},
		{"brace after a non-variable opens a block", "x a$b{", []string{"x=x@1:1+0-1:2 a$b=a$b@1:3+2-1:6 {@1:6", "EOF@1:7"}},
		{"closing brace inside a word", "x a}b;", []string{"x=x@1:1+0-1:2 a}b=a}b@1:3+2-1:6 ;@1:6", "EOF@1:7"}},
		{"hash inside a word", "x a#b;", []string{"x=x@1:1+0-1:2 a#b=a#b@1:3+2-1:6 ;@1:6", "EOF@1:7"}},
		{"comment between arguments", "x # c\n y;", []string{"x=x@1:1+0-1:2 y=y@2:2+7-2:3 ;@2:3", "EOF@2:4", `# "# c"@1:3-1:6`}},
		{"comment at end without newline", "x; # end", []string{"x=x@1:1+0-1:2 ;@1:2", "EOF@1:9", `# "# end"@1:4-1:9`}},
		{"CRLF", "a b;\r\nc;\r\n# k\r\n", []string{"a=a@1:1+0-1:2 b=b@1:3+2-1:4 ;@1:4", "c=c@2:1+6-2:2 ;@2:2", "EOF@4:1", `# "# k"@3:1-3:4`}},
		{"multi-line quoted word", "x \"a\nb\" c;", []string{"x=x@1:1+0-1:2 \"a\nb\"=a\nb@1:3+2-2:3 c=c@2:4+8-2:5 ;@2:5", "EOF@2:6"}},
		{"quote then parenthesis", `if ($a = "b") {`, []string{`if=if@1:1+0-1:3 ($a=($a@1:4+3-1:7 ===@1:8+7-1:9 "b"=b@1:10+9-1:13 )=)@1:13+12-1:14 {@1:15`, "EOF@1:16"}},
		{"quote then block", `x "a"{`, []string{`x=x@1:1+0-1:2 "a"=a@1:3+2-1:6 {@1:6`, "EOF@1:7"}},
		{"byte columns", "é x;", []string{"é=é@1:1+0-1:3 x=x@1:4+3-1:5 ;@1:5", "EOF@1:6"}},
		{"block and close", "a {\n}\n", []string{"a=a@1:1+0-1:2 {@1:3", "}@2:1", "EOF@3:1"}},
		{"regex braces need quotes", "location ~ ^/a{2}/ {", []string{"location=location@1:1+0-1:9 ~=~@1:10+9-1:11 ^/a=^/a@1:12+11-1:15 {@1:15", "2}/=2}/@1:16+15-1:19 {@1:20", "EOF@1:21"}},

		// errors and recovery
		{"character after closing quote", `x "a"b;`, []string{`! 1:6 unexpected "b"`, `x=x@1:1+0-1:2 "a"=a@1:3+2-1:6 b=b@1:6+5-1:7 ;@1:7`, "EOF@1:8"}},
		{"stray semicolon is skipped", "; x;", []string{`! 1:1 unexpected ";"`, "x=x@1:3+2-1:4 ;@1:4", "EOF@1:5"}},
		{"brace without name", "{ }", []string{`! 1:1 unexpected "{"`, "{@1:1", "}@1:3", "EOF@1:4"}},
		{"close brace ends unterminated statement", "x y }", []string{`! 1:5 unexpected "}"`, "x=x@1:1+0-1:2 y=y@1:3+2-1:4 }@1:5", "EOF@1:6"}},
		{"end of file inside a statement", "x y", []string{"! 1:4 unexpected end of file, expecting \";\" or \"}\"", "x=x@1:1+0-1:2 y=y@1:3+2-1:4 EOF@1:4"}},
		{"unterminated quote", "x \"a;\n", []string{"! 1:3 quoted string is not terminated", "! 2:1 unexpected end of file, expecting \";\" or \"}\"", "x=x@1:1+0-1:2 \"a;\n=a;\n@1:3+2-2:1 EOF@2:1"}},
		{"non-printable byte after quote", "x \"a\"\x01;", []string{`! 1:6 unexpected "\x01"`, "x=x@1:1+0-1:2 \"a\"=a@1:3+2-1:6 \x01=\x01@1:6+5-1:7 ;@1:7", "EOF@1:8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lexAll(tt.src)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("lex %q (-want +got):\n%s", tt.src, diff)
			}
		})
	}
}

// TestLexerTooLong checks NGX_CONF_BUFFER's limit exactly: nginx fails when a
// token, with the byte that ends it, does not fit in its 4096-byte buffer
// and more input follows (verified against nginx 1.22.1).
func TestLexerTooLong(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name string
		src  string
		want string // "" for no error
	}{
		{"bare 4095 then semicolon", "x " + a(4095) + ";\ny;", ""},
		{"bare 4096 then semicolon", "x " + a(4096) + ";\ny;", `too long parameter "aaaaaaaaaa..." started`},
		{"bare 4095 then space", "x " + a(4095) + " ;\ny;", `too long parameter "aaaaaaaaaa..." started`},
		{"bare 4094 then space", "x " + a(4094) + " ;\ny;", ""},
		{"quoted 4094 then semicolon", `x "` + a(4094) + "\";\ny;", ""},
		{"quoted 4095 then semicolon", `x "` + a(4095) + "\";\ny;", `too long parameter "aaaaaaaaaa..." started`},
		{"quoted 4094 then space", `x "` + a(4094) + "\" ;\ny;", `too long parameter "aaaaaaaaaa..." started`},
		{"quoted 4096 unfinished", `x "` + a(4096) + "\";\ny;", `too long parameter, probably missing terminating """ character`},
		{"comment 4095", "#" + a(4095) + "\ny;", `too long parameter "#aaaaaaaaa..." started`},
		{"comment 4094", "#" + a(4094) + "\ny;", ""},
		{"long token running into the end of the file", "x " + a(5000), `too long parameter "aaaaaaaaaa..." started`},
		{"4096-byte token exactly at the end of the file", "x " + a(4096), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, line := range lexAll(tt.src) {
				if strings.HasPrefix(line, "! ") && strings.Contains(line, "too long") {
					got = append(got, line[strings.Index(line[2:], " ")+3:])
				}
			}
			var want []string
			if tt.want != "" {
				want = []string{tt.want}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestLuaBlockBody(t *testing.T) {
	src := "content_by_lua_block {\n  ngx.say(\"}\") -- }\n  local s = [==[ } ]==] --[[ } ]]\n  if x then ngx.say('{') end\n}\nnext;\n"
	f := &File{Name: "t.conf", Src: []byte(src)}
	diags := parseFile(f, &arena{}, map[*Directive]bool{})
	if len(diags) != 0 {
		t.Fatalf("diagnostics: %v", diags)
	}
	if len(f.Directives) != 2 {
		t.Fatalf("got %d directives, want 2", len(f.Directives))
	}
	lua := f.Directives[0]
	if !lua.Block.Opaque || lua.Block.Close.Line != 5 || !strings.Contains(lua.Block.Raw, "[==[ } ]==]") {
		t.Errorf("lua block = %+v", lua.Block)
	}
	if next := f.Directives[1]; next.Name != "next" || next.Pos.Line != 6 {
		t.Errorf("directive after the lua block = %s at line %d", next.Name, next.Pos.Line)
	}
}
