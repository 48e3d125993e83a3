package parser

// Pos is a position in a source file. The zero Pos is "no position".
// Its fields are int32 to keep the tree small (a Pos is 12 bytes and the
// tree holds several per directive): no file larger than MaxFileSize, far
// below 2 GiB, is parsed, so every position fits.
type Pos struct {
	Offset int32 // byte offset from the start of the file, 0-based
	Line   int32 // 1-based line
	Col    int32 // 1-based column, counted in bytes
}

// IsValid reports whether p is a real position.
func (p Pos) IsValid() bool { return p.Line > 0 }

// File is one source file as read from disk, stdin or an "nginx -T" section.
// A File is parsed once however many times it is included.
// Files and everything reachable from them must not be modified.
type File struct {
	// Name is the path to show to users: the path as given on the command
	// line for the main file, and for included files the path relative to the
	// main file's directory when it lies below it, else the absolute path.
	Name string
	// Path is the absolute path, or the name recorded in an "nginx -T" dump,
	// or "-" for stdin.
	Path string
	// Src is the file's content.
	Src []byte
	// Directives are the top-level directives in source order; include
	// directives are kept as they are (see Directive.Include).
	Directives []*Directive
	// Comments are all comments in the file in source order.
	Comments []*Comment
}

// Comment is a "#" comment up to the end of its line.
type Comment struct {
	Text     string // the comment including the leading '#', without the line ending
	Pos, End Pos
}

// Arg is one directive argument.
type Arg struct {
	Raw   string // exactly as written, quotes and backslashes included
	Value string // the value nginx uses: quotes removed, escapes applied
	Quote byte   // 0 for a bare word, '"' or '\''
	Pos   Pos    // first byte of Raw
	End   Pos    // just after the last byte of Raw
}

// Directive is one statement: a name, arguments and either ";" or a block.
type Directive struct {
	File  *File
	Name  string
	Pos   Pos // first byte of the name
	End   Pos // just after the terminating ';' or the block's '}'
	Args  []Arg
	Block *Block // nil for simple directives

	// Leading holds the comments on the lines directly above the directive
	// (no blank line in between); Trailing is a comment on the same line
	// after the directive's ';' or '{' (for a block without one, after its
	// closing '}').
	Leading  []*Comment
	Trailing *Comment

	// Include is set for "include" directives: the files the argument
	// resolved to, in nginx's order (globs sorted). Empty for a glob that
	// matched nothing.
	Include []*File
}

// NameEnd returns the position just after the directive name.
func (d *Directive) NameEnd() Pos {
	n := int32(len(d.Name)) // the name lies in its file, so this fits (MaxFileSize)
	return Pos{Offset: d.Pos.Offset + n, Line: d.Pos.Line, Col: d.Pos.Col + n}
}

// Block is the body of a block directive.
type Block struct {
	Open  Pos // the '{'
	Close Pos // the '}'
	// Directives of the body in source order. For opaque bodies
	// (*_by_lua_block) it is nil and Raw holds the text between the braces.
	Directives []*Directive
	Opaque     bool
	Raw        string
}

// Severity of a Diagnostic.
type Severity uint8

const (
	SeverityError Severity = iota
	SeverityWarning
)

func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Link is one step of an include chain: the include directive that was
// followed, in the file that holds it.
type Link struct {
	File string // File.Name of the including file
	Line int
	Col  int
}

// Diagnostic is a problem found while reading a configuration.
type Diagnostic struct {
	Severity Severity
	File     string // File.Name
	Pos, End Pos
	Message  string // nginx-like wording, without the position
	Chain    []Link // include chain of the first use of File, outermost first
}
