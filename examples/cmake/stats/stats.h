/* stats.h - a library of the program's own that also reports a metric (stats/stats_metric.c). */
#ifndef STATS_H
#define STATS_H
long stats_sum(const long *v, int n);
#endif
