package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/ngxkeep/ngxkeep/runtime/h1"
)

// Handler produces the response for requests in a location: nginx's
// content handler. The server runs it after the location is chosen, the
// keep-alive vetoes are applied and client_max_body_size is checked.
//
// Serve either writes the whole response through w and returns StatusDone,
// or returns a status for the server to answer with nginx's special
// response (error page, error_page directive, keep-alive veto for 400,
// 413, 414, 500 and 501), or one of StatusClose (444),
// StatusRequestTimeout, StatusClientClosed and StatusError, which close
// the connection without a response. A handler that does not read the
// request body leaves it to the server, which discards it after the
// response; one that starts reading it and answers before the end makes
// the connection close (with lingering close).
type Handler interface {
	Serve(w *ResponseWriter, r *Request) int
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(w *ResponseWriter, r *Request) int

// Serve calls f.
func (f HandlerFunc) Serve(w *ResponseWriter, r *Request) int { return f(w, r) }

// HandlerFactory builds the handler of a location, or returns nil when the
// location is not of its kind. The proxy registers one for locations with
// a Proxy block.
type HandlerFactory func(loc *config.Location, opts *Options) (Handler, error)

var (
	factoriesMu sync.Mutex
	factories   []HandlerFactory
)

// RegisterHandler adds a handler factory; files of this package that add a
// content handler call it from init.
func RegisterHandler(f HandlerFactory) {
	factoriesMu.Lock()
	defer factoriesMu.Unlock()
	factories = append(factories, f)
}

// InstanceHandlerFactory is called once for every configuration the
// server compiles (New and each Reload), before its locations. The
// HandlerFactory it returns (nil: none) is asked for that configuration's
// locations after Options.Handler and before the package factories. A
// content handler that shares state among the locations of one
// configuration uses it: the proxy compiles the instance's upstream blocks
// once.
type InstanceHandlerFactory func(inst *config.Instance, opts *Options) (HandlerFactory, error)

var instanceFactories []InstanceHandlerFactory

// RegisterInstanceHandler adds an instance handler factory; files of this
// package call it from init.
func RegisterInstanceHandler(f InstanceHandlerFactory) {
	factoriesMu.Lock()
	defer factoriesMu.Unlock()
	instanceFactories = append(instanceFactories, f)
}

// instanceOptions returns the options for compiling inst: opts with the
// factories of the instance handler factories chained after opts.Handler.
func instanceOptions(inst *config.Instance, opts *Options) (*Options, error) {
	factoriesMu.Lock()
	ifs := instanceFactories
	factoriesMu.Unlock()
	o := *opts
	for _, f := range ifs {
		hf, err := f(inst, opts)
		if err != nil {
			return nil, err
		}
		if hf == nil {
			continue
		}
		prev := o.Handler
		o.Handler = func(loc *config.Location, opts *Options) (Handler, error) {
			if prev != nil {
				if h, err := prev(loc, opts); err != nil || h != nil {
					return h, err
				}
			}
			return hf(loc, opts)
		}
	}
	return &o, nil
}

// handlerFor picks a location's content handler: a registered factory
// that claims it, else the static file handler (nginx's default).
func handlerFor(loc *config.Location, opts *Options) (Handler, error) {
	if opts != nil && opts.Handler != nil {
		h, err := opts.Handler(loc, opts)
		if err != nil || h != nil {
			return h, err
		}
	}
	factoriesMu.Lock()
	fs := factories
	factoriesMu.Unlock()
	for _, f := range fs {
		h, err := f(loc, opts)
		if err != nil {
			return nil, err
		}
		if h != nil {
			return h, nil
		}
	}
	if loc.Proxy != nil {
		return nil, fmt.Errorf("location %q: no proxy handler is registered", loc.Path)
	}
	return staticHandler{}, nil
}

// staticHandler serves files from root or alias with index files for
// directory URIs (ngx_http_index_handler, ngx_http_static_handler).
type staticHandler struct{}

const methodsGHP = h1.MethodGET | h1.MethodHEAD | h1.MethodPOST

func (staticHandler) Serve(w *ResponseWriter, r *Request) int {
	if len(r.Path) > 0 && r.Path[len(r.Path)-1] == '/' {
		if r.Method&methodsGHP != 0 {
			if rc, done := serveIndex(w, r); done {
				return rc
			}
		}
		if r.Method&methodsGHP == 0 {
			return 405
		}
		// No index: "directory index of ... is forbidden".
		return 403
	}
	if r.Method&methodsGHP == 0 {
		return 405
	}
	path := mapURIToPath(r, r.Path)
	f, err := os.Open(path)
	if err != nil {
		return openErrorStatus(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 500
	}
	if st.IsDir() {
		// ngx_http_static_handler: redirect "/dir" to "/dir/".
		loc := append(append([]byte(nil), r.Path...), '/')
		if len(r.Args) > 0 {
			loc = append(append(loc, '?'), r.Args...)
		}
		r.w.location = loc
		return 301
	}
	if !st.Mode().IsRegular() {
		return 404
	}
	if r.Method == h1.MethodPOST {
		return 405
	}
	if rc := r.c.discardBody(r); rc != 0 {
		return rc
	}
	w.status = 200
	w.contentLength = st.Size()
	w.lastModified = st.ModTime().Unix()
	if r.loc.etag {
		etag := make([]byte, 0, 32)
		etag = append(etag, '"')
		etag = strconv.AppendInt(etag, w.lastModified, 16)
		etag = append(etag, '-')
		etag = strconv.AppendInt(etag, st.Size(), 16)
		etag = append(etag, '"')
		w.AddHeaderBytes([]byte("ETag"), etag)
	}
	r.c.setContentType(r)
	if r.Version >= 1000 {
		w.acceptRanges = true
	}
	if err := w.SendFile(f, st.Size()); err != nil {
		return StatusError
	}
	return StatusDone
}

// serveIndex tries the index files; done is false when it declines.
func serveIndex(w *ResponseWriter, r *Request) (rc int, done bool) {
	dirTested := false
	for _, name := range r.loc.index {
		if len(name) > 0 && name[0] == '/' {
			return r.c.internalRedirect(r, []byte(name), r.Args), true
		}
		path := mapURIToPath(r, r.Path) + name
		_, err := os.Stat(path)
		if err == nil {
			uri := append(append([]byte(nil), r.Path...), name...)
			return r.c.internalRedirect(r, uri, r.Args), true
		}
		var errno syscall.Errno
		if errors.As(err, &errno) {
			switch errno {
			case syscall.ENOTDIR, syscall.ENAMETOOLONG:
				return 404, true
			case syscall.EACCES:
				return 403, true
			case syscall.ELOOP, syscall.EMLINK:
				return 403, true
			}
		}
		if !dirTested {
			dir := mapURIToPath(r, r.Path)
			st, derr := os.Stat(dir)
			switch {
			case derr == nil && !st.IsDir():
				return 500, true
			case derr != nil && errors.Is(derr, fs.ErrNotExist):
				return 404, true
			case derr != nil && !errors.Is(derr, fs.ErrPermission):
				return 500, true
			}
			dirTested = true
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		return 500, true
	}
	return 0, false
}

// mapURIToPath maps a URI to a file name with root or alias
// (ngx_http_map_uri_to_path). The URI is already normalized: no "." or
// ".." segments, so the result cannot leave the root.
func mapURIToPath(r *Request, uri []byte) string {
	lc := r.loc
	if lc.hasAlias {
		if lc.re != nil {
			return lc.alias
		}
		skip := min(len(lc.name), len(uri))
		return lc.alias + string(uri[skip:])
	}
	root := lc.root
	if !filepath.IsAbs(root) && r.c.w.inst.opts.Prefix != "" {
		root = filepath.Join(r.c.w.inst.opts.Prefix, root)
	}
	return root + string(uri)
}

// openErrorStatus maps a file open error to nginx's status.
func openErrorStatus(err error) int {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ENOENT, syscall.ENOTDIR, syscall.ENAMETOOLONG:
			return 404
		case syscall.EACCES, syscall.ELOOP, syscall.EMLINK:
			return 403
		}
	}
	return 500
}
