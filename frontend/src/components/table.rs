//! Table helpers: sortable column headers, the sort state behind them, and
//! a list's rows as filtered and sorted.

use leptos::prelude::*;

use crate::components::remote::Remote;

/// Which column a list is sorted by, and which way.
pub struct Sort<K: 'static> {
    pub key: RwSignal<K>,
    pub ascending: RwSignal<bool>,
}

impl<K> Clone for Sort<K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K> Copy for Sort<K> {}

impl<K: Copy + PartialEq + Send + Sync + 'static> Sort<K> {
    pub fn new(key: K, ascending: bool) -> Self {
        Sort {
            key: RwSignal::new(key),
            ascending: RwSignal::new(ascending),
        }
    }

    /// A click on a header: the same column flips, another one sorts
    /// ascending.
    pub fn toggle(&self, key: K) {
        if self.key.get_untracked() == key {
            self.ascending.update(|a| *a = !*a);
        } else {
            self.key.set(key);
            self.ascending.set(true);
        }
    }

    /// The rows of `list` that the top bar's `search` text admits
    /// (`matches` gets it trimmed and lower-cased), in this sort's order
    /// (`compare` is the ascending order by a column).
    pub fn rows<T>(
        self,
        list: Remote<Vec<T>>,
        search: RwSignal<String>,
        matches: fn(&T, &str) -> bool,
        compare: fn(K, &T, &T) -> std::cmp::Ordering,
    ) -> Memo<Vec<T>>
    where
        T: Clone + PartialEq + Send + Sync + 'static,
    {
        Memo::new(move |_| {
            let needle = search.get().trim().to_lowercase();
            let column = self.key.get();
            let mut rows: Vec<T> = list.value.with(|v| match v {
                Some(Ok(all)) => all
                    .iter()
                    .filter(|r| matches(r, &needle))
                    .cloned()
                    .collect(),
                _ => Vec::new(),
            });
            rows.sort_by(|a, b| self.order(compare(column, a, b)));
            rows
        })
    }

    /// Applies the direction to an ascending comparison.
    pub fn order(&self, ordering: std::cmp::Ordering) -> std::cmp::Ordering {
        if self.ascending.get() {
            ordering
        } else {
            ordering.reverse()
        }
    }
}

/// A column header that sorts its table, announced with `aria-sort`.
#[component]
pub fn SortHeader<K: Copy + PartialEq + Send + Sync + 'static>(
    sort: Sort<K>,
    key: K,
    label: &'static str,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    let active = move || sort.key.get() == key;
    let aria_sort = move || match (active(), sort.ascending.get()) {
        (false, _) => "none",
        (true, true) => "ascending",
        (true, false) => "descending",
    };
    let arrow = move || match (active(), sort.ascending.get()) {
        (false, _) => "",
        (true, true) => "↑",
        (true, false) => "↓",
    };
    view! {
        <th scope="col" class=class aria-sort=aria_sort>
            <button type="button" class="sort" class:sort-active=active on:click=move |_| sort.toggle(key)>
                {label}
                <span class="sort-arrow" aria-hidden="true">{arrow}</span>
            </button>
        </th>
    }
}
