package server

import (
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/ngxkeep/ngxkeep/runtime/config"
	"github.com/ngxkeep/ngxkeep/runtime/h1"
)

// instanceConf is an Instance compiled for the data path: durations parsed,
// regexes compiled, servers grouped by listen address.
type instanceConf struct {
	src             *config.Instance
	version         config.Version
	software        string
	workers         int
	workerConns     int
	shutdownTimeout time.Duration // 0 = unlimited
	servers         []*serverConf
	// addrs maps a normalized listen address to the servers on it.
	addrs map[string]*addrConf
	// sockets are the listening sockets to open: normalized address ->
	// backlog. A wildcard address of a port covers its specific addresses.
	sockets map[string]int

	// vars holds the maps, set steps and values with variables (vars.go);
	// nil when the instance has none.
	vars *varTable
}

// addrConf is the set of virtual servers reachable through one listen
// address (nginx ngx_http_addr_conf_t).
type addrConf struct {
	addr          string
	defaultServer *serverConf
	exact         map[string]*serverConf
	wildHead      map[string]*serverConf // "*.example.com" stored as "example.com"
	wildTail      map[string]*serverConf // "www.example.*" stored as "www.example"
	regex         []serverRegex
	// onlyDefault: every server name on the address belongs to the
	// default server, so no Host can select another one (nginx then has
	// no virtual_names and ngx_http_find_virtual_server declines at once).
	onlyDefault bool
}

type serverRegex struct {
	re  *regexp.Regexp
	srv *serverConf
}

// serverConf is a compiled server block.
type serverConf struct {
	src                 *config.Server
	name                string // first server name, for redirects and logs
	headerTimeout       time.Duration
	headerBufSize       int
	largeBufNum         int
	largeBufSize        int
	headOpts            h1.HeadOptions
	ret                 *config.Return
	unmatched           *locConf
	root                *locLevel
	named               map[string]*locConf
	hasServerRewriteRet bool
}

// locLevel holds the locations of one nesting level.
type locLevel struct {
	exact  map[string]*locConf
	prefix []*locConf // longest first
	regex  []*locConf // in configuration order
}

// locConf is a compiled location with effective settings.
type locConf struct {
	src   *config.Location
	name  string
	match string
	re    *regexp.Regexp
	// noRegex is set for "^~" prefix locations.
	noRegex      bool
	internal     bool
	autoRedirect bool
	nested       *locLevel

	keepaliveTimeout    time.Duration
	keepaliveHeader     int64 // seconds; 0 = no Keep-Alive header
	keepaliveRequests   int64
	keepaliveTime       time.Duration // <0: no limit (before 1.19.10)
	keepaliveMinTimeout time.Duration
	disableMSIE6        bool
	disableSafari       bool
	lingering           int // lingeringOff/On/Always
	lingeringTime       time.Duration
	lingeringTimeout    time.Duration
	resetTimedout       bool
	bodyTimeout         time.Duration
	sendTimeout         time.Duration
	maxBodySize         int64 // 0 = unlimited
	bodyBufferSize      int64
	chunkedTE           bool
	tokens              int
	msiePadding         bool
	absoluteRedirect    bool
	serverNameRedirect  bool
	portInRedirect      bool
	defaultType         string
	types               map[string]string
	etag                bool
	addHeaders          []config.AddHeader
	errorPages          map[int]*config.ErrorPage
	root                string
	alias               string
	hasAlias            bool
	index               []string
	ret                 *config.Return
	handler             Handler
}

const (
	lingeringOff = iota
	lingeringOn
	lingeringAlways
)

// compile turns a validated model into the data-path form.
func compile(inst *config.Instance, opts *Options) (*instanceConf, error) {
	if diags := inst.Validate(); diags.HasErrors() {
		return nil, fmt.Errorf("invalid configuration: %s", diags.Error())
	}
	v, _ := config.ParseVersion(inst.Version)
	opts, err := instanceOptions(inst, opts)
	if err != nil {
		return nil, err
	}
	ic := &instanceConf{
		src:         inst,
		version:     v,
		software:    inst.ServerSoftware,
		workers:     config.DefaultWorkerProcesses,
		workerConns: config.DefaultWorkerConnections,
		addrs:       map[string]*addrConf{},
		sockets:     map[string]int{},
	}
	if ic.software == "" {
		ic.software = "nginx/" + inst.Version
	}
	if ic.vars, err = compileVars(inst); err != nil {
		return nil, err
	}
	if inst.WorkerProcesses != nil {
		ic.workers = *inst.WorkerProcesses
	}
	if inst.WorkerConnections != nil {
		ic.workerConns = *inst.WorkerConnections
	}
	if inst.WorkerShutdownTimeout != "" {
		ic.shutdownTimeout, _ = config.ParseMsec(inst.WorkerShutdownTimeout)
	}
	defLoc := config.Defaults(v)
	defSrv := config.ServerDefaults()
	for _, s := range inst.Servers {
		sc, err := compileServer(s, defSrv, defLoc, v, opts)
		if err != nil {
			return nil, err
		}
		ic.servers = append(ic.servers, sc)
		for _, l := range s.Listens {
			key := config.NormalizeListenAddress(l.Address)
			ac := ic.addrs[key]
			if ac == nil {
				ac = &addrConf{addr: key, exact: map[string]*serverConf{}, wildHead: map[string]*serverConf{}, wildTail: map[string]*serverConf{}}
				ic.addrs[key] = ac
			}
			if ac.defaultServer == nil || l.DefaultServer {
				if l.DefaultServer || ac.defaultServer == nil {
					ac.defaultServer = sc
				}
			}
			ac.addServer(sc)
			backlog := l.Backlog
			if backlog == 0 {
				backlog = config.DefaultBacklog
			}
			if old, ok := ic.sockets[key]; !ok || backlog > old {
				ic.sockets[key] = backlog
			}
		}
	}
	for _, ac := range ic.addrs {
		ac.onlyDefault = ac.allDefault()
	}
	// A wildcard address on a port takes over the sockets of the specific
	// addresses on the same port (nginx binds only "*:port" unless "bind").
	for key := range ic.sockets {
		host, port, _ := net.SplitHostPort(key)
		if host == "*" || port == "0" {
			continue
		}
		if _, ok := ic.sockets[net.JoinHostPort("*", port)]; ok {
			delete(ic.sockets, key)
		}
	}
	return ic, nil
}

// allDefault reports whether every server name on the address maps to
// the default server.
func (ac *addrConf) allDefault() bool {
	for _, m := range []map[string]*serverConf{ac.exact, ac.wildHead, ac.wildTail} {
		for _, sc := range m {
			if sc != ac.defaultServer {
				return false
			}
		}
	}
	for _, r := range ac.regex {
		if r.srv != ac.defaultServer {
			return false
		}
	}
	return true
}

func (ac *addrConf) addServer(sc *serverConf) {
	names := sc.src.ServerNames
	for _, n := range names {
		switch {
		case strings.HasPrefix(n, "~"):
			re := regexp.MustCompile(n[1:]) // validated
			ac.regex = append(ac.regex, serverRegex{re, sc})
		case strings.HasPrefix(n, "*."):
			key := strings.ToLower(n[2:])
			if _, ok := ac.wildHead[key]; !ok {
				ac.wildHead[key] = sc
			}
		case strings.HasPrefix(n, "."):
			key := strings.ToLower(n[1:])
			if _, ok := ac.wildHead[key]; !ok {
				ac.wildHead[key] = sc
			}
			if _, ok := ac.exact[key]; !ok {
				ac.exact[key] = sc
			}
		case strings.HasSuffix(n, ".*"):
			key := strings.ToLower(n[:len(n)-2])
			if _, ok := ac.wildTail[key]; !ok {
				ac.wildTail[key] = sc
			}
		default:
			key := strings.ToLower(n)
			if _, ok := ac.exact[key]; !ok {
				ac.exact[key] = sc
			}
		}
	}
}

// findServer selects the virtual server for host (lower case, no port)
// like ngx_http_find_virtual_server: exact name, longest "*." wildcard,
// longest ".*" wildcard, then regexes in order; nil when none matches.
func (ac *addrConf) findServer(host []byte) *serverConf {
	if sc, ok := ac.exact[string(host)]; ok {
		return sc
	}
	if len(ac.wildHead) > 0 {
		for i := 0; i < len(host); i++ {
			if host[i] == '.' {
				if sc, ok := ac.wildHead[string(host[i+1:])]; ok {
					return sc
				}
			}
		}
	}
	if len(ac.wildTail) > 0 {
		for i := len(host) - 1; i > 0; i-- {
			if host[i] == '.' {
				if sc, ok := ac.wildTail[string(host[:i])]; ok {
					return sc
				}
			}
		}
	}
	if len(host) > 0 {
		for _, r := range ac.regex {
			if r.re.Match(host) {
				return r.srv
			}
		}
	}
	return nil
}

func compileServer(s *config.Server, def *config.Server, defLoc *config.Location, v config.Version, opts *Options) (*serverConf, error) {
	sc := &serverConf{src: s, ret: s.Return, named: map[string]*locConf{}}
	if len(s.ServerNames) > 0 {
		sc.name = s.ServerNames[0]
	}
	sc.headerTimeout = msec(s.ClientHeaderTimeout, def.ClientHeaderTimeout)
	sc.headerBufSize = int(size(s.ClientHeaderBufferSize, def.ClientHeaderBufferSize))
	sc.largeBufNum = *def.LargeClientHeaderBuffersNumber
	if s.LargeClientHeaderBuffersNumber != nil {
		sc.largeBufNum = *s.LargeClientHeaderBuffersNumber
	}
	sc.largeBufSize = int(size(s.LargeClientHeaderBuffersSize, def.LargeClientHeaderBuffersSize))
	sc.headOpts = h1.HeadOptions{
		AllowUnderscores: flag(s.UnderscoresInHeaders, def.UnderscoresInHeaders),
		IgnoreInvalid:    flag(s.IgnoreInvalidHeaders, def.IgnoreInvalidHeaders),
		MergeSlashes:     flag(s.MergeSlashes, def.MergeSlashes),
	}
	um := s.Unmatched
	if um == nil {
		um = &config.Location{}
	}
	var err error
	if sc.unmatched, err = compileLocation(um, defLoc, v, opts); err != nil {
		return nil, err
	}
	if sc.root, err = compileLevel(s.Locations, defLoc, v, opts, sc.named); err != nil {
		return nil, err
	}
	return sc, nil
}

func compileLevel(locs []*config.Location, defLoc *config.Location, v config.Version, opts *Options, named map[string]*locConf) (*locLevel, error) {
	lv := &locLevel{exact: map[string]*locConf{}}
	for _, l := range locs {
		lc, err := compileLocation(l, defLoc, v, opts)
		if err != nil {
			return nil, err
		}
		switch l.Match {
		case config.MatchExact:
			lv.exact[l.Path] = lc
		case config.MatchPrefix, config.MatchPrefixNoRegex:
			lc.noRegex = l.Match == config.MatchPrefixNoRegex
			lv.prefix = append(lv.prefix, lc)
		case config.MatchRegex, config.MatchIRegex:
			re := l.Path
			if l.Match == config.MatchIRegex {
				re = "(?i)" + re
			}
			lc.re = regexp.MustCompile(re) // validated
			lv.regex = append(lv.regex, lc)
		case config.MatchNamed:
			named[l.Path] = lc
			continue
		}
		if len(l.Locations) > 0 {
			if lc.nested, err = compileLevel(l.Locations, defLoc, v, opts, named); err != nil {
				return nil, err
			}
		}
	}
	sort.SliceStable(lv.prefix, func(i, j int) bool { return len(lv.prefix[i].name) > len(lv.prefix[j].name) })
	return lv, nil
}

func compileLocation(l *config.Location, d *config.Location, v config.Version, opts *Options) (*locConf, error) {
	lc := &locConf{
		src:   l,
		name:  l.Path,
		match: l.Match,
	}
	lc.internal = l.Internal
	lc.keepaliveTimeout = msec(l.KeepaliveTimeout, d.KeepaliveTimeout)
	if l.KeepaliveHeaderTimeout != "" {
		t, _ := config.ParseSec(l.KeepaliveHeaderTimeout)
		lc.keepaliveHeader = int64(t / time.Second)
	}
	lc.keepaliveRequests = int64(*d.KeepaliveRequests)
	if l.KeepaliveRequests != nil {
		lc.keepaliveRequests = int64(*l.KeepaliveRequests)
	}
	lc.keepaliveTime = -1
	if v.AtLeast(config.V1_19_10) {
		lc.keepaliveTime = msec(l.KeepaliveTime, d.KeepaliveTime)
	}
	if v.AtLeast(config.V1_27_4) {
		lc.keepaliveMinTimeout = msec(l.KeepaliveMinTimeout, d.KeepaliveMinTimeout)
	}
	disable := l.KeepaliveDisable
	if len(disable) == 0 {
		disable = d.KeepaliveDisable
	}
	for _, k := range disable {
		switch k {
		case "msie6":
			lc.disableMSIE6 = true
		case "safari":
			lc.disableSafari = true
		}
	}
	switch pick(l.LingeringClose, d.LingeringClose) {
	case "off":
		lc.lingering = lingeringOff
	case "always":
		lc.lingering = lingeringAlways
	default:
		lc.lingering = lingeringOn
	}
	lc.lingeringTime = msec(l.LingeringTime, d.LingeringTime)
	lc.lingeringTimeout = msec(l.LingeringTimeout, d.LingeringTimeout)
	lc.resetTimedout = flag(l.ResetTimedoutConnection, d.ResetTimedoutConnection)
	lc.bodyTimeout = msec(l.ClientBodyTimeout, d.ClientBodyTimeout)
	lc.sendTimeout = msec(l.SendTimeout, d.SendTimeout)
	lc.maxBodySize, _ = config.ParseOffset(pick(l.ClientMaxBodySize, d.ClientMaxBodySize))
	lc.bodyBufferSize = size(l.ClientBodyBufferSize, d.ClientBodyBufferSize)
	lc.chunkedTE = flag(l.ChunkedTransferEncoding, d.ChunkedTransferEncoding)
	switch pick(l.ServerTokens, d.ServerTokens) {
	case "off":
		lc.tokens = h1.TokensOff
	case "build":
		lc.tokens = h1.TokensBuild
	default:
		lc.tokens = h1.TokensOn
	}
	lc.msiePadding = flag(l.MSIEPadding, d.MSIEPadding)
	lc.absoluteRedirect = flag(l.AbsoluteRedirect, d.AbsoluteRedirect)
	lc.serverNameRedirect = flag(l.ServerNameInRedirect, d.ServerNameInRedirect)
	lc.portInRedirect = flag(l.PortInRedirect, d.PortInRedirect)
	lc.defaultType = pick(l.DefaultType, d.DefaultType)
	lc.types = l.Types
	if len(lc.types) == 0 {
		lc.types = d.Types
	}
	lc.etag = flag(l.ETag, d.ETag)
	for _, h := range l.AddHeaders {
		if h.Value == "" {
			continue // nginx adds no header with an empty value
		}
		lc.addHeaders = append(lc.addHeaders, *h)
	}
	if len(l.ErrorPages) > 0 {
		lc.errorPages = map[int]*config.ErrorPage{}
		for _, e := range l.ErrorPages {
			for _, c := range e.Codes {
				if _, dup := lc.errorPages[c]; !dup {
					lc.errorPages[c] = e
				}
			}
		}
	}
	lc.root = pick(l.Root, d.Root)
	if l.Alias != "" {
		lc.alias, lc.hasAlias = l.Alias, true
	}
	lc.index = l.Index
	if len(lc.index) == 0 {
		lc.index = d.Index
	}
	lc.ret = l.Return
	if l.Proxy != nil {
		lc.autoRedirect = strings.HasSuffix(l.Path, "/") && l.Match != config.MatchRegex && l.Match != config.MatchIRegex && l.Match != config.MatchNamed
	}
	h, err := handlerFor(l, opts)
	if err != nil {
		return nil, err
	}
	lc.handler = h
	return lc, nil
}

func pick(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func msec(v, def string) time.Duration {
	d, _ := config.ParseMsec(pick(v, def)) // validated
	return d
}

func size(v, def string) int64 {
	n, _ := config.ParseSize(pick(v, def)) // validated
	return n
}

func flag(v, def *bool) bool {
	if v != nil {
		return *v
	}
	return *def
}
