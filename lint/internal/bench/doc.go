// Package bench holds the lint engine's benchmarks on the large generated
// tree (gen_large.py), with all rules, against a gonginx parse of the same
// tree. It is separate from package lint so that lint's own tests do not
// depend on the rules:
//
//	go test ./lint/internal/bench -run '^$' -bench . -benchtime 20x
package bench
