// Package parser reads nginx configuration files the way nginx does and keeps
// exact source positions for everything it reads.
//
// The lexer follows ngx_conf_file.c (ngx_conf_read_token): bare words, single
// and double quotes with nginx's escapes, "\" in bare words, "${var}", "#"
// comments only at token start, CRLF, nginx's 4096-byte token limit, and
// opaque "*_by_lua_block" bodies. Every directive and argument carries its
// file, line, 1-based byte column, byte offset and end position; comments are
// kept and attached to the directives around them.
//
// Load (a path, "-" for standard input, or an "nginx -T" dump) and Parse (bytes)
// return a Config: the main file and every file it includes, each parsed
// once. Includes follow nginx: globs sorted, hidden files skipped by
// wildcards, relative paths against the prefix (the main file's directory),
// nginx's messages for missing files; cycles are errors.
//
// Config.Tree expands includes into a tree of Nodes, one per place of use, so
// a snippet included from many locations yields one Node per use, each
// knowing its include chain and its context. While building it, every
// directive is checked against the directive table (Lookup, Specs) as
// ngx_conf_handler does: unknown directive, not allowed here, argument count,
// block or not. The table is derived from nginx's own ngx_command_t tables
// and carries the version facts and defaults that changed over time.
//
// Node.Effective answers "what value does nginx use here" with the merge rules
// of each directive's module (scalars from the nearest level, arrays such as
// proxy_set_header all-or-nothing, upstream-block directives only in their
// block) and the defaults of a target nginx Version. ProxyTarget tells what a
// proxy_pass (or fastcgi_pass, grpc_pass, ...) points to, and ParseTime,
// ParseSize and ParseFlag read values exactly as nginx does.
//
// Parse problems never stop parsing: they are collected as Diagnostics with
// file:line:col, nginx's wording and the include chain, and parsing resumes at
// the next ";" or "}". Config.WriteJSON and WriteCrossplane export the result.
package parser
