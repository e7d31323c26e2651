"""index/lru.py: the bounded cache a Retriever's request threads share."""

import threading

from kotae.index.lru import LRU


def test_the_least_recently_used_goes_first_and_a_hit_counts_as_a_use():
    cache = LRU(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # "b" is now the least recently used
    cache.put("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3


def test_get_or_make_makes_once_while_the_value_stays_cached():
    cache, made = LRU(4), []
    for _ in range(3):
        assert cache.get_or_make("k", lambda: made.append(1) or "v") == "v"
    assert made == [1]


def test_threads_reading_and_evicting_the_same_keys_never_fail():
    # Request threads share a Retriever: one evicting a key while another moves it to the end
    # raised KeyError from an unguarded OrderedDict.
    cache, errors = LRU(8), []

    def work(seed: int) -> None:
        try:
            for i in range(20000):
                key = (i * seed) % 13
                cache.get_or_make(key, lambda: key)
                cache.get((key + 1) % 13)
        except Exception as e:  # noqa: BLE001 - any failure is the finding
            errors.append(e)

    threads = [threading.Thread(target=work, args=(s,)) for s in (1, 3, 5, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(cache._data) <= 8
