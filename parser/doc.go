// Package parser reads nginx configuration files the way nginx does and keeps
// exact source positions for everything it reads.
//
// The lexer follows ngx_conf_file.c (ngx_conf_read_token): bare words, single
// and double quotes with nginx's escapes, "\" in bare words, "${var}", "#"
// comments only at token start, CRLF, and opaque "*_by_lua_block" bodies.
// Every directive and argument carries its file, line, 1-based byte column,
// byte offset and end position.
//
// A Config is one nginx instance: the main file and every file it includes,
// each parsed once. Config.Tree expands includes into a tree of Nodes, one per
// place of use, so a snippet included from many locations yields one Node per
// use, each knowing its include chain and its context. Node.Effective answers
// "what value does nginx use here" with nginx's inheritance rules and the
// defaults of a target nginx Version.
//
// Parse problems never stop parsing: they are collected as Diagnostics with
// file:line:col and nginx-like wording, and parsing resumes at the next ";" or
// "}".
package parser
