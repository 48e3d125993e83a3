package parser

import "strings"

var contextNames = []struct {
	ctx  Context
	name string
}{
	{CtxMain, "main"},
	{CtxEvents, "events"},
	{CtxHTTP, "http"},
	{CtxServer, "server"},
	{CtxLocation, "location"},
	{CtxUpstream, "upstream"},
	{CtxServerIf, "server if"},
	{CtxLocationIf, "location if"},
	{CtxLimitExcept, "limit_except"},
	{CtxStream, "stream"},
	{CtxStreamServer, "stream server"},
	{CtxStreamUpstream, "stream upstream"},
	{CtxMail, "mail"},
	{CtxMailServer, "mail server"},
	{CtxOpaque, "data block"},
}

// String names the context ("location", "upstream", "stream server"); a
// mask of several is joined with "|", every context is "any".
func (c Context) String() string {
	if c == ctxAll {
		return "any"
	}
	var parts []string
	for _, cn := range contextNames {
		if c&cn.ctx != 0 {
			parts = append(parts, cn.name)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}
