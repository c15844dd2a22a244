//! A HorizontalPodAutoscaler as the panel explains it: the formula the
//! controller applies, filled in with the current numbers.

use mezame_shared::topology::Hpa;

use crate::adapters::kube::objects as k;

pub fn explain(h: &k::Hpa) -> Hpa {
    let computed = match (h.value, h.target) {
        (Some(value), Some(target)) if target > 0.0 => Some(desired(h.current, value, target)),
        _ => None,
    };
    let condition = if h.value.is_none() {
        h.problems
            .iter()
            .find(|c| c.kind == "ScalingActive")
            .or_else(|| h.problems.first())
            .map(|c| c.message.clone().or_else(|| c.reason.clone()).unwrap_or_else(|| c.kind.clone()))
            .or_else(|| Some("the metric has no value yet".into()))
    } else {
        None
    };
    Hpa {
        name: h.meta.name.clone(),
        min: h.min,
        max: h.max,
        current: h.current,
        desired: h.desired,
        metric: h.metric.clone(),
        target_type: h.target_type.clone(),
        target: h.target,
        value: h.value,
        computed,
        condition,
    }
}

/// `ceil(current × value / target)`: the replica count before min/max clamping.
/// (For `AverageValue` targets the value is the per-pod average, so the same
/// product gives the total divided by the per-pod target.)
pub fn desired(current: i32, value: f64, target: f64) -> i32 {
    // Tolerate float noise: 2 × 0.5 / 1.0 must be 1, not 2.
    let raw = f64::from(current) * value / target;
    (raw - 1e-9).ceil().max(0.0) as i32
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_formula() {
        assert_eq!(super::desired(2, 75.0, 50.0), 3);
        assert_eq!(super::desired(4, 50.0, 50.0), 4);
        assert_eq!(super::desired(3, 10.0, 50.0), 1);
        assert_eq!(super::desired(2, 0.5, 1.0), 1);
    }
}
