// Package translate turns nginx configurations (parser trees) into the
// runtime model (runtime/config) and says, for every directive of the
// source, what became of it.
//
// It is the only package under runtime/ that knows nginx directive names
// (Caddy's adapter pattern): the runtime runs the model, the translator
// resolves nginx's inheritance and the target version's defaults so that
// every location of the model holds fully effective values, and the Report
// gives each directive use (file:line:col and include chain) one verdict:
//
//   - preserved: the runtime does what nginx does with it;
//   - approximated: it runs, with the one-line difference given;
//   - unsupported: it is not run (the difference is given);
//   - ignored: it only matters to a real nginx process (pid, logs, temp
//     paths, process limits, socket tuning) and changes nothing the
//     runtime opens, keeps or closes.
//
// Nothing is dropped silently: every Node of every translated tree has
// exactly one Entry in the Report.
//
// Encode writes the model as HCL with a comment before every block that
// names its nginx origin ("# from box1-frontend.conf:12:9") or the default
// it stands for.
package translate
