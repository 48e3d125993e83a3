package translate

import (
	"bytes"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"
)

// Encode renders a translated configuration as HCL: the text
// config.Encode writes, plus a header and, before every block, the comment
// lines naming its nginx origin (from the Report of the translation that
// made cfg; r may be nil). The output is deterministic and already in
// hclwrite.Format's layout (two-space indents, "=" aligned across
// consecutive one-line attributes); it is written directly because
// formatting a whole hclwrite file costs a minute on a 10,000-server
// configuration.
func Encode(cfg *config.Config, r *Report) []byte {
	e := &encoder{}
	if r != nil {
		e.origins = r.origins
		var files []string
		for _, in := range r.Instances {
			files = append(files, in.File)
		}
		e.comment(0, fmt.Sprintf("ngxkeep runtime configuration, translated from %s for nginx %s.", strings.Join(files, ", "), r.Target))
		e.comment(0, "Every setting is written out: values nginx takes from its defaults are the "+r.Target.String()+" defaults.")
		e.comment(0, "Schema: ngxkeep translate --help.")
		e.buf.WriteByte('\n')
	}
	for i, inst := range cfg.Instances {
		if i > 0 {
			e.buf.WriteByte('\n')
		}
		e.block(0, reflect.ValueOf(inst), "instance")
	}
	return e.buf.Bytes()
}

type encoder struct {
	buf     bytes.Buffer
	origins map[any][]string
	pending []attrLine // one-line attributes awaiting alignment
}

type attrLine struct {
	indent int
	name   string
	value  []byte
}

func (e *encoder) comment(indent int, text string) {
	e.flush()
	e.pad(indent)
	e.buf.WriteString("# ")
	e.buf.WriteString(text)
	e.buf.WriteByte('\n')
}

func (e *encoder) pad(indent int) {
	for i := 0; i < indent; i++ {
		e.buf.WriteString("  ")
	}
}

// flush writes the pending one-line attributes with their "=" aligned
// (hclwrite's formatCells).
func (e *encoder) flush() {
	width := 0
	for _, a := range e.pending {
		width = max(width, len(a.name))
	}
	for _, a := range e.pending {
		e.pad(a.indent)
		e.buf.WriteString(a.name)
		for i := len(a.name); i < width; i++ {
			e.buf.WriteByte(' ')
		}
		e.buf.WriteString(" = ")
		e.buf.Write(a.value)
		e.buf.WriteByte('\n')
	}
	e.pending = e.pending[:0]
}

// block writes the block for v (a pointer to a model struct), preceded by
// its origin comments.
func (e *encoder) block(indent int, v reflect.Value, name string) {
	for _, l := range e.origins[v.Interface()] {
		e.comment(indent, l)
	}
	e.flush()
	s := v.Elem()
	t := s.Type()
	e.pad(indent)
	e.buf.WriteString(name)
	for i := 0; i < t.NumField(); i++ {
		if _, kind := hclTag(t.Field(i)); kind == "label" {
			e.buf.WriteByte(' ')
			e.buf.Write(hclwrite.TokensForValue(cty.StringVal(s.Field(i).String())).Bytes())
		}
	}
	e.buf.WriteString(" {\n")
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		n, kind := hclTag(f)
		fv := s.Field(i)
		switch kind {
		case "attr", "optional":
			if kind == "optional" && isUnset(fv) && !alwaysWritten[t][n] {
				continue
			}
			if fv.Kind() == reflect.Pointer {
				fv = fv.Elem()
			}
			if val, ok := plainValue(fv); ok {
				e.pending = append(e.pending, attrLine{indent + 1, n, val})
				continue
			}
			ty, err := gocty.ImpliedType(fv.Interface())
			if err != nil {
				panic(fmt.Sprintf("translate: cannot encode %s: %v", f.Name, err))
			}
			cv, err := gocty.ToCtyValue(fv.Interface(), ty)
			if err != nil {
				panic(fmt.Sprintf("translate: cannot encode %s: %v", f.Name, err))
			}
			val := hclwrite.TokensForValue(cv).Bytes()
			if bytes.IndexByte(val, '\n') < 0 {
				e.pending = append(e.pending, attrLine{indent + 1, n, val})
				continue
			}
			// A multi-line value (a map) is not aligned with its
			// neighbours; its lines are indented under the attribute.
			e.flush()
			e.pad(indent + 1)
			e.buf.WriteString(n)
			e.buf.WriteString(" = ")
			for j, line := range bytes.Split(val, []byte("\n")) {
				if j > 0 {
					e.buf.WriteByte('\n')
					e.pad(indent + 1)
				}
				e.buf.Write(line)
			}
			e.buf.WriteByte('\n')
		case "block":
			switch fv.Kind() {
			case reflect.Slice:
				for j := 0; j < fv.Len(); j++ {
					el := fv.Index(j)
					if el.Kind() == reflect.Pointer {
						if el.IsNil() {
							continue
						}
					} else {
						el = el.Addr()
					}
					e.block(indent+1, el, n)
				}
			case reflect.Pointer:
				if !fv.IsNil() {
					e.block(indent+1, fv, n)
				}
			}
		}
	}
	e.flush()
	e.pad(indent)
	e.buf.WriteString("}\n")
}

// plainValue renders the common values without going through cty: bools,
// ints and strings of printable ASCII that need no escaping (the same bytes
// hclwrite.TokensForValue writes).
func plainValue(v reflect.Value) ([]byte, bool) {
	switch v.Kind() {
	case reflect.Bool:
		return strconv.AppendBool(nil, v.Bool()), true
	case reflect.Int:
		return strconv.AppendInt(nil, v.Int(), 10), true
	case reflect.String:
		str := v.String()
		for i := 0; i < len(str); i++ {
			switch c := str[i]; {
			case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '$', c == '%':
				return nil, false
			}
		}
		b := make([]byte, 0, len(str)+2)
		b = append(b, '"')
		b = append(b, str...)
		return append(b, '"'), true
	}
	return nil, false
}

// alwaysWritten are plain bool settings written even when false (which
// config.Encode leaves out): nginx settings with a default, and the cache
// switch, whose absence would read as "on".
var alwaysWritten = map[reflect.Type]map[string]bool{
	reflect.TypeOf(config.Keepalive{}): {"enabled": true, "local": true},
	reflect.TypeOf(config.Proxy{}):     {"intercept_errors": true, "ignore_client_abort": true},
}

// isUnset mirrors config.Encode: optional attributes that are nil, empty,
// false or zero are left out.
func isUnset(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.String, reflect.Slice, reflect.Map:
		return v.Len() == 0
	default:
		return v.IsZero()
	}
}

func hclTag(f reflect.StructField) (name, kind string) {
	tag, ok := f.Tag.Lookup("hcl")
	if !ok {
		return "", ""
	}
	name, kind, found := strings.Cut(tag, ",")
	if !found {
		kind = "attr"
	}
	return name, kind
}
