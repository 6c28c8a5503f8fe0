//! Elementary cycles of a directed graph: Johnson's algorithm.
//!
//! D. B. Johnson, "Finding all the elementary circuits of a directed graph",
//! SIAM J. Comput. 4(1), 1975. Work goes component by component: in a strongly
//! connected component, the search finds every cycle through its smallest node
//! `s`; then `s` is removed and the components of the rest are searched the same
//! way. So each cycle is found once, starting at its smallest node. Nodes that
//! lead nowhere back to `s` stay blocked until a cycle through them is found,
//! which bounds the work between two cycles by the size of the graph.
//!
//! Nothing here recurses: the search and the component finder keep their own
//! stacks, so long chains of declarations cannot overflow the stack.

/// Calls `found` with every elementary cycle of the graph whose successor lists
/// are `adjacency` (nodes `0..adjacency.len()`), each starting at its smallest
/// node, until `found` returns false.
pub(super) fn elementary_cycles(adjacency: &[Vec<usize>], found: &mut dyn FnMut(&[usize]) -> bool) {
    let n = adjacency.len();
    let mut finder = Components::new(n);
    let mut in_set = vec![true; n];
    let all: Vec<usize> = (0..n).collect();
    let mut work: Vec<Vec<usize>> = finder.cyclic(adjacency, &all, &in_set);
    in_set.fill(false);
    let mut search = Search {
        adjacency,
        in_scope: vec![false; n],
        blocked: vec![false; n],
        blocked_by: vec![Vec::new(); n],
    };
    // Smallest components last, so that they are searched first: the order
    // only matters for which loops are listed when the enumeration is capped.
    work.sort_by_key(|c| std::cmp::Reverse(c.iter().min().copied()));
    while let Some(component) = work.pop() {
        let Some(&s) = component.iter().min() else { continue };
        for &v in &component {
            search.in_scope[v] = true;
            search.blocked[v] = false;
            search.blocked_by[v].clear();
        }
        let go_on = search.cycles_through(s, found);
        for &v in &component {
            search.in_scope[v] = false;
        }
        if !go_on {
            return;
        }
        let rest: Vec<usize> = component.into_iter().filter(|v| *v != s).collect();
        for &v in &rest {
            in_set[v] = true;
        }
        let mut smaller = finder.cyclic(adjacency, &rest, &in_set);
        for &v in &rest {
            in_set[v] = false;
        }
        smaller.sort_by_key(|c| std::cmp::Reverse(c.iter().min().copied()));
        work.extend(smaller);
    }
}

/// Tarjan's strongly connected components, with an explicit stack.
struct Components {
    index: Vec<usize>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
}

const UNSEEN: usize = usize::MAX;

impl Components {
    fn new(n: usize) -> Components {
        Components { index: vec![UNSEEN; n], low: vec![0; n], on_stack: vec![false; n] }
    }

    /// The components of the subgraph on `members` (`in_set[v]` marks them)
    /// that hold a cycle: two nodes or more, or one with an edge to itself.
    fn cyclic(&mut self, adjacency: &[Vec<usize>], members: &[usize], in_set: &[bool]) -> Vec<Vec<usize>> {
        let mut out = Vec::new();
        let mut counter = 0;
        let mut stack: Vec<usize> = Vec::new();
        let mut calls: Vec<(usize, usize)> = Vec::new();
        for &root in members {
            if self.index[root] != UNSEEN {
                continue;
            }
            self.enter(root, &mut counter, &mut stack);
            calls.push((root, 0));
            while let Some(&mut (v, ref mut next)) = calls.last_mut() {
                if let Some(&w) = adjacency[v].get(*next) {
                    *next += 1;
                    if !in_set[w] {
                        continue;
                    }
                    if self.index[w] == UNSEEN {
                        self.enter(w, &mut counter, &mut stack);
                        calls.push((w, 0));
                    } else if self.on_stack[w] {
                        self.low[v] = self.low[v].min(self.index[w]);
                    }
                    continue;
                }
                calls.pop();
                if let Some(&(parent, _)) = calls.last() {
                    self.low[parent] = self.low[parent].min(self.low[v]);
                }
                if self.low[v] == self.index[v] {
                    let mut component = Vec::new();
                    while let Some(w) = stack.pop() {
                        self.on_stack[w] = false;
                        component.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if component.len() > 1 || adjacency[v].contains(&v) {
                        out.push(component);
                    }
                }
            }
        }
        for &v in members {
            self.index[v] = UNSEEN;
        }
        out
    }

    fn enter(&mut self, v: usize, counter: &mut usize, stack: &mut Vec<usize>) {
        self.index[v] = *counter;
        self.low[v] = *counter;
        *counter += 1;
        stack.push(v);
        self.on_stack[v] = true;
    }
}

struct Search<'a> {
    adjacency: &'a [Vec<usize>],
    in_scope: Vec<bool>,
    blocked: Vec<bool>,
    /// `blocked_by[w]`: nodes to unblock when `w` is unblocked.
    blocked_by: Vec<Vec<usize>>,
}

impl Search<'_> {
    /// Reports the cycles through `s` inside the scope; false if `found` said stop.
    fn cycles_through(&mut self, s: usize, found: &mut dyn FnMut(&[usize]) -> bool) -> bool {
        let mut path = vec![s];
        // For each node on the path: the next successor to try, and whether a
        // cycle was found below it.
        let mut next = vec![0usize];
        let mut closed = vec![false];
        self.blocked[s] = true;
        while let Some(&v) = path.last() {
            let depth = path.len() - 1;
            let mut descended = false;
            while next[depth] < self.adjacency[v].len() {
                let w = self.adjacency[v][next[depth]];
                next[depth] += 1;
                if !self.in_scope[w] {
                    continue;
                }
                if w == s {
                    if !found(&path) {
                        return false;
                    }
                    closed[depth] = true;
                } else if !self.blocked[w] {
                    self.blocked[w] = true;
                    path.push(w);
                    next.push(0);
                    closed.push(false);
                    descended = true;
                    break;
                }
            }
            if descended {
                continue;
            }
            path.pop();
            next.pop();
            let was_closed = closed.pop().unwrap_or(false);
            if was_closed {
                if let Some(parent) = closed.last_mut() {
                    *parent = true;
                }
                self.unblock(v);
            } else {
                for &w in &self.adjacency[v] {
                    if self.in_scope[w] && !self.blocked_by[w].contains(&v) {
                        self.blocked_by[w].push(v);
                    }
                }
            }
        }
        true
    }

    fn unblock(&mut self, v: usize) {
        let mut todo = vec![v];
        while let Some(u) = todo.pop() {
            if self.blocked[u] {
                self.blocked[u] = false;
                todo.append(&mut self.blocked_by[u]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::elementary_cycles;

    fn all(adjacency: &[Vec<usize>]) -> Vec<Vec<usize>> {
        let mut out = Vec::new();
        elementary_cycles(adjacency, &mut |c| {
            out.push(c.to_vec());
            true
        });
        out.sort();
        out
    }

    #[test]
    fn finds_each_cycle_once_from_its_smallest_node() {
        // 0 → 1 → 2 → 0, 1 → 0, 2 → 2, 3 → 0 (3 is on no cycle).
        let adjacency = vec![vec![1], vec![2, 0], vec![0, 2], vec![0]];
        assert_eq!(all(&adjacency), vec![vec![0, 1], vec![0, 1, 2], vec![2]]);
    }

    #[test]
    fn counts_the_cycles_of_a_complete_graph() {
        // The complete graph on 5 nodes with self-loops has
        // sum over k of C(5, k) (k - 1)! = 5 + 10 + 20 + 30 + 24 = 89 cycles.
        let adjacency: Vec<Vec<usize>> = (0..5).map(|_| (0..5).collect()).collect();
        assert_eq!(all(&adjacency).len(), 89);
    }

    #[test]
    fn stops_when_asked() {
        let adjacency: Vec<Vec<usize>> = (0..6).map(|_| (0..6).collect()).collect();
        let mut seen = 0;
        elementary_cycles(&adjacency, &mut |_| {
            seen += 1;
            seen < 7
        });
        assert_eq!(seen, 7);
    }
}
