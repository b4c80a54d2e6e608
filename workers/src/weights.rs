//! Smooth weighted round robin over the lanes (the nginx upstream algorithm): each pick adds
//! every candidate lane's weight to its credit, takes the lane with the most credit and charges
//! it the sum of weights. Over any run of picks each backlogged lane gets its share, interleaved
//! rather than in bursts. The Redis backend runs the same steps in Lua (`lease.lua`).

/// Credits carried between lease calls, indexed like [`crate::Lane::ALL`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SmoothWeights {
    credit: [i64; 3],
}

impl SmoothWeights {
    /// How many keys to take from each lane for `max` leases, given each lane's ready count.
    pub(crate) fn split(&mut self, max: usize, ready: [usize; 3], weights: [u32; 3]) -> [usize; 3] {
        let mut take = [0usize; 3];
        for _ in 0..max {
            let mut best: Option<usize> = None;
            let mut sum = 0i64;
            for lane in 0..3 {
                if ready[lane] > take[lane] {
                    self.credit[lane] += i64::from(weights[lane]);
                    sum += i64::from(weights[lane]);
                    if best.is_none_or(|b| self.credit[lane] > self.credit[b]) {
                        best = Some(lane);
                    }
                }
            }
            let Some(best) = best else { break };
            self.credit[best] -= sum;
            take[best] += 1;
        }
        take
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlogged_lanes_get_their_weights_and_an_idle_lane_gives_way() {
        let mut w = SmoothWeights::default();
        assert_eq!(w.split(10, [100, 100, 100], [6, 3, 1]), [6, 3, 1]);
        let [high, normal, low] = w.split(8, [0, 100, 100], [6, 3, 1]);
        assert_eq!((high, normal, low), (0, 6, 2));
        assert_eq!(w.split(10, [1, 0, 100], [6, 3, 1]), [1, 0, 9]);
    }
}
