# The per-respondent counts the index golden scripts start from, sourced by
# make_golden_indices.R, make_golden_published.R and make_golden_trend_calibrated.R.
#
# Per respondent and aspect a (access: acc1-acc3, process: proc1-proc3, staff: staff1-staff2):
#   s_a = number of satisfied answers (level 4 or 5), v_a = number of valid answers,
#   p_a = sum of the answers' points (level - 1) * 25.

aspects <- list(access = c("acc1", "acc2", "acc3"), process = c("proc1", "proc2", "proc3"),
                staff = c("staff1", "staff2"))
satisfied <- function(x) ifelse(is.na(x), 0, as.numeric(x >= 4))
valid <- function(x) as.numeric(!is.na(x))
points <- function(x) ifelse(is.na(x), 0, (x - 1) * 25)

# d with the columns s_a, v_a and p_a of every aspect added
add_counts <- function(d) {
  for (a in names(aspects)) {
    items <- aspects[[a]]
    d[[paste0("s_", a)]] <- Reduce(`+`, lapply(d[items], satisfied))
    d[[paste0("v_", a)]] <- Reduce(`+`, lapply(d[items], valid))
    d[[paste0("p_", a)]] <- Reduce(`+`, lapply(d[items], points))
  }
  d
}
